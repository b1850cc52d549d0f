import { SlidingWindowStorage } from './rate-limit.storage';

const MINUTE = 60_000;

describe('SlidingWindowStorage', () => {
  it('admits up to the limit in a window and refuses the rest without counting them', () => {
    const storage = new SlidingWindowStorage();
    const verdicts = Array.from({ length: 5 }, (_, i) => storage.hit('ip:1', MINUTE, 3, 1_000 + i).isBlocked);
    expect(verdicts).toEqual([false, false, false, true, true]);
    // Another client has its own window.
    expect(storage.hit('ip:2', MINUTE, 3, 1_005).isBlocked).toBe(false);
  });

  it('weighs the previous window by how much of it is still within the last minute', () => {
    const storage = new SlidingWindowStorage();
    for (let i = 0; i < 10; i++) storage.hit('k', MINUTE, 10, i);
    // As the window turns, all of the previous ten still count; a second later, a sixtieth of them has slid out.
    expect(storage.hit('k', MINUTE, 10, MINUTE).isBlocked).toBe(true);
    expect(storage.hit('k', MINUTE, 10, MINUTE + 1_000).isBlocked).toBe(false);
    expect(storage.hit('k', MINUTE, 10, MINUTE + 1_001).isBlocked).toBe(true);
    // Half way through, half of them count beside the one admitted: four more are admitted, then the fifth is refused.
    const halfWay = MINUTE + MINUTE / 2;
    const verdicts = Array.from({ length: 5 }, () => storage.hit('k', MINUTE, 10, halfWay).isBlocked);
    expect(verdicts).toEqual([false, false, false, false, true]);
    // Two windows on, nothing of it counts.
    expect(storage.hit('k', MINUTE, 10, 3 * MINUTE).totalHits).toBe(0);
  });

  it('tells a refused client when it will be admitted again', () => {
    const storage = new SlidingWindowStorage();
    for (let i = 0; i < 4; i++) storage.hit('k', MINUTE, 4, 0);
    const refused = storage.hit('k', MINUTE, 4, 30_000);
    expect(refused.isBlocked).toBe(true);
    // The four hits of this window count whole until it ends.
    expect(refused.timeToBlockExpire).toBe(30);
    expect(storage.hit('k', MINUTE, 4, 30_000 + refused.timeToBlockExpire * 1000 + 1).isBlocked).toBe(false);
    // Refused early in a window because of the one before it: admitted once enough of that one has slid out.
    const sliding = new SlidingWindowStorage();
    for (let i = 0; i < 4; i++) sliding.hit('k', MINUTE, 4, 0);
    expect(sliding.hit('k', MINUTE, 4, MINUTE + 10_000).isBlocked).toBe(false); // 4 * 50/60 + 0 < 4
    const early = sliding.hit('k', MINUTE, 4, MINUTE + 10_000); // 4 * 50/60 + 1 >= 4
    expect(early.isBlocked).toBe(true);
    // 4 * (60 - t) / 60 + 1 < 4 once t > 15 s: five seconds on.
    expect(early.timeToBlockExpire).toBe(5);
    expect(sliding.hit('k', MINUTE, 4, MINUTE + 14_000).isBlocked).toBe(true);
    expect(sliding.hit('k', MINUTE, 4, MINUTE + 15_001).isBlocked).toBe(false);
  });

  it('forgets clients of whom nothing counts any more', () => {
    const storage = new SlidingWindowStorage();
    storage.hit('old', MINUTE, 5, 0);
    storage.hit('recent', MINUTE, 5, 2 * MINUTE + 10);
    expect(storage.forgetIdle(2 * MINUTE + 20)).toBe(1);
  });
});
