import { Injectable, Logger } from '@nestjs/common';
import { CreditsService } from './credits.service';

/**
 * The holds this instance's guarded requests have open. On shutdown, what in-flight requests could not settle in
 * the grace period is released at once instead of waiting for the sweeper.
 */
@Injectable()
export class OpenHolds {
  private readonly logger = new Logger(OpenHolds.name);
  private readonly open = new Map<string, string>();

  constructor(private readonly credits: CreditsService) {}

  add(holdId: string, accountId: string): void {
    this.open.set(holdId, accountId);
  }

  remove(holdId: string): void {
    this.open.delete(holdId);
  }

  get size(): number {
    return this.open.size;
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
