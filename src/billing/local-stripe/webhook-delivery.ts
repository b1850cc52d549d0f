import { Logger } from '@nestjs/common';
import { signWebhookPayload, StripeEventPayload } from './stripe-events';

/** Waits between attempts of one delivery, as Stripe retries a failed one (much faster here: this is local). */
const RETRY_DELAYS_MS = [250, 1000, 3000, 5000];
const ATTEMPT_TIMEOUT_MS = 15_000;

export interface DeliveryRecord {
  eventId: string;
  type: string;
  /** The endpoint's last HTTP status, or null when it could not be reached. */
  status: number | null;
  attempts: number;
  at: Date;
}

/**
 * Posts events to one webhook endpoint, signed with its secret, one after another in the order they happened. A
 * delivery answered 5xx, or not answered, is tried again after a short wait; a 4xx is the endpoint's final word.
 */
export class WebhookDelivery {
  private readonly logger = new Logger('LocalStripe');
  private queue: Promise<void> = Promise.resolve();
  /** The latest deliveries, newest first, for the admin panel. */
  readonly recent: DeliveryRecord[] = [];

  constructor(
    readonly url: string,
    private readonly secret: string,
  ) {}

  send(event: StripeEventPayload): void {
    // A snapshot: the object may change before its turn comes.
    const payload = JSON.stringify(event);
    this.queue = this.queue.then(() => this.deliver(event, payload));
  }

  /** Resolves once everything sent so far has been delivered or given up on. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async deliver(event: StripeEventPayload, payload: string): Promise<void> {
    const record: DeliveryRecord = { eventId: event.id, type: event.type, status: null, attempts: 0, at: new Date() };
    this.recent.unshift(record);
    this.recent.splice(50);
    for (let attempt = 0; ; attempt++) {
      record.attempts = attempt + 1;
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': signWebhookPayload(payload, this.secret),
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
          body: payload,
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        record.status = response.status;
        if (response.status < 500) {
          if (response.status >= 300) this.logger.warn(`Webhook ${event.type} ${event.id} refused with ${response.status}`);
          return;
        }
      } catch {
        record.status = null;
      }
      if (attempt >= RETRY_DELAYS_MS.length) {
        this.logger.error(`Webhook ${event.type} ${event.id} not delivered to ${this.url} after ${attempt + 1} attempts`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}
