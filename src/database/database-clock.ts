import { Global, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';

/** How often the clock is compared with the database's again. */
const RESYNC_MS = 60_000;
/** A host clock further off than this is worth an operator's attention. */
const WARN_OFFSET_MS = 1_000;

/**
 * Makes the service's Clock follow the database server's clock. Every instance of the service then means the same
 * moment by "now" as the others and as PostgreSQL's now(): one instance's fast host clock can no longer expire a
 * hold another instance's request is still using, nor stamp a ledger row minutes away from the row its work wrote.
 * The offset is measured at start and every minute, from the middle of a round trip.
 */
@Injectable()
export class DatabaseClock implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabaseClock.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly clock: Clock,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sync().catch((error: unknown) => this.logger.warn(`Could not read the database's clock: ${String(error)}`));
    // A failed look keeps the last offset; the next one tries again.
    this.timer = setInterval(() => void this.sync().catch(() => undefined), RESYNC_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Measures how far the database's clock is from this host's and makes the Clock follow it; returns the offset. */
  async sync(): Promise<number> {
    const sent = this.clock.hostNow();
    const [row]: Array<{ now: Date }> = await this.dataSource.query('SELECT clock_timestamp() AS now');
    const received = this.clock.hostNow();
    const offset = Math.round(new Date(row.now).getTime() - (sent + received) / 2);
    if (Math.abs(offset) > WARN_OFFSET_MS) {
      this.logger.warn(`This host's clock is ${offset} ms away from the database's; the service follows the database`);
    }
    this.clock.follow(offset);
    return offset;
  }
}

@Global()
@Module({ providers: [DatabaseClock], exports: [DatabaseClock] })
export class DatabaseClockModule {}
