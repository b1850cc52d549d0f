import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';

/** The service's Prometheus metrics, served at GET /metrics. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly creditsConsumed = new Counter({
    name: 'credits_consumed_total',
    help: 'Units charged (captured or consumed), by credit type',
    labelNames: ['type'],
    registers: [this.registry],
  });

  readonly creditsRefused = new Counter({
    name: 'credits_refused_total',
    help: 'Charges refused for lack of credits or quota, by credit type',
    labelNames: ['type'],
    registers: [this.registry],
  });

  readonly creditsShortfall = new Counter({
    name: 'credits_shortfall_total',
    help: 'Credits owed that the ledger could not take (spent before a refund, or a capture after its hold was given back), by reason and pool or type',
    labelNames: ['reason', 'type'],
    registers: [this.registry],
  });

  readonly webhookEvents = new Counter({
    name: 'stripe_webhook_events_total',
    help: 'Stripe webhook events received, by event type and outcome (APPLIED, IGNORED, DUPLICATE, REJECTED, FAILED)',
    labelNames: ['type', 'outcome'],
    registers: [this.registry],
  });

  readonly renewals = new Counter({
    name: 'credit_period_renewals_total',
    help: 'Accounts moved to a new period by the renewal job',
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'credit_holds_open',
      help: 'Reservations not yet captured or released',
      registers: [this.registry],
      async collect() {
        const [row]: Array<{ open: string }> = await dataSource.query(
          `SELECT count(*) AS open FROM credit_holds WHERE status = 'PENDING'`,
        );
        this.set(Number(row.open));
      },
    });
  }
}
