import { Injectable } from '@nestjs/common';

/**
 * The service's one notion of "now". It follows the database server's clock (see DatabaseClock): hold expiry, the
 * sweeper, ledger timestamps, periods and the rows PostgreSQL stamps with now() then agree on every instance,
 * whatever each host's own clock says. Tests and operator commands can move it.
 */
@Injectable()
export class Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(this.hostNow() + this.offsetMs);
  }

  /** Follows another clock that is `offsetMs` ahead of this host's (behind when negative). */
  follow(offsetMs: number): void {
    this.offsetMs = offsetMs;
  }

  /** This host's own time, in milliseconds since the epoch. */
  hostNow(): number {
    return Date.now();
  }
}
