import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

const ROUTES = /^\/(graphql|healthz|metrics|webhooks\/stripe|api\/credits\/(balance|purchase|history)|api\/usage)$/;

/** A bounded route label: known paths as they are, anything else as "other". */
function routeOf(url: string): string {
  const path = url.split('?')[0];
  return ROUTES.test(path) ? path : 'other';
}

/**
 * Counts requests being served and times them. On shutdown it tells clients to close their connections and lets the
 * process wait until what was in flight has finished.
 */
@Injectable()
export class InFlightRequests {
  private active = 0;
  private draining = false;
  private readonly idle: Array<() => void> = [];

  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    this.active++;
    if (this.draining) res.setHeader('Connection', 'close');
    const stop = this.metrics.requestDuration.startTimer({ method: req.method });
    res.once('close', () => {
      stop({ route: routeOf(req.originalUrl), status: res.statusCode });
      this.active--;
      if (this.active === 0) this.idle.splice(0).forEach((resolve) => resolve());
    });
    next();
  }

  get count(): number {
    return this.active;
  }

  /** Resolves when no request is in flight, or after `graceMs`; returns how many were still running. */
  async drain(graceMs: number): Promise<number> {
    this.draining = true;
    if (this.active > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    return this.active;
  }
}
