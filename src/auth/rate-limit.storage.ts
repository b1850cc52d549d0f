import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';

interface Window {
  ttl: number;
  /** Start of the current fixed window (a multiple of the ttl). */
  start: number;
  current: number;
  previous: number;
}

/**
 * Per-minute limits counted as a sliding window, in constant time and memory per client: the current fixed window's
 * count plus the previous window's, weighted by how much of it still lies within the last ttl. The library's own
 * storage keeps one timestamp per request and filters them all on each request, which grows with the limit.
 * A refused request is not counted, so a client that stops is admitted again as its window slides on.
 */
export class SlidingWindowStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  constructor(sweepIntervalMs = 60_000) {
    setInterval(() => this.forgetIdle(Date.now()), sweepIntervalMs).unref();
  }

  increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.hit(key, ttl, limit, Date.now()));
  }

  /** Counts one request at `now` unless the limit is reached. */
  hit(key: string, ttl: number, limit: number, now: number): ThrottlerStorageRecord {
    const start = now - (now % ttl);
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = { ttl, start, current: 0, previous: 0 }));
    if (window.start !== start) {
      window.previous = window.start === start - ttl ? window.current : 0;
      window.current = 0;
      window.start = start;
    }
    const elapsed = now - start;
    const previousWeight = (ttl - elapsed) / ttl;
    const count = window.previous * previousWeight + window.current;
    const isBlocked = count >= limit;
    if (!isBlocked) window.current++;
    const timeToExpire = Math.ceil((ttl - elapsed) / 1000);
    return {
      totalHits: Math.ceil(count) + (isBlocked ? 1 : 0),
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.max(1, this.secondsUntilAdmitted(window, ttl, limit, elapsed)) : 0,
    };
  }

  /** When a blocked client's count falls below the limit again, as the previous window slides out. */
  private secondsUntilAdmitted(window: Window, ttl: number, limit: number, elapsed: number): number {
    // A full current window becomes a previous one that has already begun to slide out.
    if (window.current >= limit || window.previous === 0) return Math.ceil((ttl - elapsed) / 1000);
    // previous * (ttl - t) / ttl + current < limit  =>  t > ttl * (1 - (limit - current) / previous)
    const admittedAt = ttl * (1 - (limit - window.current) / window.previous);
    return Math.ceil((Math.max(admittedAt, elapsed) - elapsed) / 1000) || 1;
  }

  /** Drops the clients of whom nothing counts any more (two windows on); returns how many are still known. */
  forgetIdle(now: number): number {
    for (const [key, window] of this.windows) {
      if (now - window.start >= 2 * window.ttl) this.windows.delete(key);
    }
    return this.windows.size;
  }
}
