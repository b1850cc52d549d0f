import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CreditsService } from './credits.service';

/**
 * The holds this instance's guarded requests have open. While a request runs, its hold is kept alive: every third
 * of `HOLD_TTL_SECONDS` each open hold is moved to expire a whole TTL from then, so that no sweeper (of this
 * instance or another) gives back the credits of a request that is still working; the sweeper is for holds whose
 * instance died. On shutdown, what in-flight requests could not settle in the grace period is released at once
 * instead of waiting for the sweeper.
 */
@Injectable()
export class OpenHolds implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OpenHolds.name);
  private readonly open = new Map<string, string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly credits: CreditsService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const every = Math.max(1000, Math.floor((this.config.HOLD_TTL_SECONDS * 1000) / 3));
    this.timer = setInterval(() => void this.keepAlive(), every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  add(holdId: string, accountId: string): void {
    this.open.set(holdId, accountId);
  }

  /** Whether the hold was still open: false once the shutdown has released it. */
  remove(holdId: string): boolean {
    return this.open.delete(holdId);
  }

  get size(): number {
    return this.open.size;
  }

  /** Resolves when no hold is open any more, or after `graceMs`; returns how many still are. */
  async drain(graceMs: number): Promise<number> {
    const until = Date.now() + Math.max(graceMs, 0);
    while (this.open.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.open.size;
  }

  /** Extends the open holds; returns how many were extended. A failure is logged and tried again next time. */
  async keepAlive(): Promise<number> {
    if (this.open.size === 0) return 0;
    try {
      return await this.credits.keepHoldsAlive([...this.open.keys()]);
    } catch (error) {
      this.logger.warn(`Could not keep ${this.open.size} open hold(s) alive: ${String(error)}`);
      return 0;
    }
  }

  async releaseAll(): Promise<number> {
    const holds = [...this.open];
    this.open.clear();
    await Promise.all(
      holds.map(([holdId, accountId]) =>
        this.credits.release(accountId, holdId).catch((error: unknown) => {
          this.logger.error(`Could not release hold ${holdId} at shutdown (the sweeper will): ${String(error)}`);
        }),
      ),
    );
    if (holds.length) this.logger.warn(`Released ${holds.length} hold(s) of requests cut off by the shutdown`);
    return holds.length;
  }
}
