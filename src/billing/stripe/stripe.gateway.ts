import { Inject, Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { AccountEntity } from '../../accounts/entities/account.entity';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { STRIPE_CLIENT } from './stripe.client';

const PRICE_CACHE_MS = 5 * 60_000;
/** Waits before asking Stripe again while a request with the same idempotency key is in progress (409). */
const CONFLICT_RETRY_DELAYS_MS = [100, 250, 500, 1000];
/** Stripe's default tolerance for signed webhook timestamps. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** The `t=` of a Stripe-Signature header (when Stripe signed, in seconds); the latest if it has several. */
function signatureTimestamp(header: string): number | undefined {
  const values = header
    .split(',')
    .map((part) => part.trim().split('='))
    .filter(([key]) => key === 't')
    .map(([, value]) => (value && /^\d{1,12}$/.test(value) ? Number(value) : NaN));
  return values.length && values.every(Number.isFinite) ? Math.max(...values) : undefined;
}

/**
 * Stripe as this service uses it: every call has a clear failure (STRIPE_UNAVAILABLE when Stripe is down or slow,
 * STRIPE_REQUEST_FAILED when it refuses), prices are found by lookup key, and each account gets one customer.
 * No database lock is ever held across these calls.
 */
@Injectable()
export class StripeGateway {
  private readonly logger = new Logger(StripeGateway.name);
  private readonly prices = new Map<string, { price: Stripe.Price; at: number }>();

  constructor(
    @Inject(STRIPE_CLIENT) private readonly stripe: Stripe | null,
    @Inject(AppConfig) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {}

  /** Throws BILLING_NOT_CONFIGURED before an operation starts any other work. */
  assertConfigured(): void {
    void this.client;
  }

  get client(): Stripe {
    if (!this.stripe) {
      throw new BillingException(
        BillingErrorCode.BILLING_NOT_CONFIGURED,
        'Payments are not configured on this server (STRIPE_SECRET_KEY is not set).',
      );
    }
    return this.stripe;
  }

  async call<T>(action: string, request: (stripe: Stripe) => Promise<T>): Promise<T> {
    const stripe = this.client;
    for (let attempt = 0; ; attempt++) {
      try {
        return await request(stripe);
      } catch (error) {
        const stripeError = error as { type?: string; statusCode?: number; message?: string };
        // 409: another request with the same idempotency key is still running (a concurrent caller doing the same
        // thing). Once it finishes, Stripe answers ours with its result, so wait a little and ask again.
        if (stripeError.statusCode === 409 && attempt < CONFLICT_RETRY_DELAYS_MS.length) {
          const delay = CONFLICT_RETRY_DELAYS_MS[attempt] * (0.75 + Math.random() / 2);
          this.logger.log(`Stripe is still busy with the same request to ${action}; asking again in ${Math.round(delay)} ms`);
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        throw this.failure(action, stripeError);
      }
    }
  }

  private failure(action: string, stripeError: { type?: string; statusCode?: number; message?: string }): BillingException {
    this.logger.warn(`Stripe could not ${action}: ${stripeError.type ?? 'error'} ${stripeError.message ?? ''}`);
    const unavailable =
      stripeError.type === 'StripeConnectionError' ||
      stripeError.type === 'StripeAPIError' ||
      stripeError.type === 'StripeRateLimitError' ||
      stripeError.statusCode === 409 ||
      (stripeError.statusCode ?? 0) >= 500;
    return new BillingException(
      unavailable ? BillingErrorCode.STRIPE_UNAVAILABLE : BillingErrorCode.STRIPE_REQUEST_FAILED,
      unavailable
        ? `The payment provider is not answering, so we could not ${action}. Nothing was charged; please try again shortly.`
        : `The payment provider refused to ${action}. Nothing was charged.`,
    );
  }

  /** The active price with this lookup key (created by `npm run stripe:setup`). */
  async priceByLookupKey(lookupKey: string): Promise<Stripe.Price> {
    const cached = this.prices.get(lookupKey);
    if (cached && Date.now() - cached.at < PRICE_CACHE_MS) return cached.price;
    const { data } = await this.call('look up a price', (stripe) =>
      stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 1 }),
    );
    if (!data[0]) {
      throw new BillingException(
        BillingErrorCode.PRICE_NOT_FOUND,
        `No Stripe price has the lookup key "${lookupKey}"; run npm run stripe:setup.`,
      );
    }
    this.prices.set(lookupKey, { price: data[0], at: Date.now() });
    return data[0];
  }

  /** The account's Stripe customer, created once: Stripe's idempotency key and a guarded update make it unique. */
  async customerFor(account: AccountEntity): Promise<string> {
    if (account.stripeCustomerId) return account.stripeCustomerId;
    const customer = await this.call('create a customer', (stripe) =>
      stripe.customers.create({ metadata: { accountId: account.id } }, { idempotencyKey: `customer:${account.id}` }),
    );
    await this.dataSource.query(
      `UPDATE accounts SET stripe_customer_id = $2, updated_at = now() WHERE id = $1 AND stripe_customer_id IS NULL`,
      [account.id, customer.id],
    );
    const [row]: Array<{ stripe_customer_id: string }> = await this.dataSource.query(
      `SELECT stripe_customer_id FROM accounts WHERE id = $1`,
      [account.id],
    );
    return row.stripe_customer_id;
  }

  /** Verifies a webhook's signature and age; throws INVALID_SIGNATURE otherwise. */
  constructEvent(payload: Buffer, signature: string | undefined): Stripe.Event {
    if (!this.config.STRIPE_WEBHOOK_SECRET) {
      throw new BillingException(BillingErrorCode.BILLING_NOT_CONFIGURED, 'STRIPE_WEBHOOK_SECRET is not set.');
    }
    if (!signature) throw new BillingException(BillingErrorCode.INVALID_SIGNATURE, 'The Stripe-Signature header is missing.');
    let event: Stripe.Event;
    try {
      event = this.client.webhooks.constructEvent(
        payload,
        signature,
        this.config.STRIPE_WEBHOOK_SECRET,
        WEBHOOK_TOLERANCE_SECONDS,
      );
    } catch (error) {
      throw new BillingException(
        BillingErrorCode.INVALID_SIGNATURE,
        `The webhook signature is not valid: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    // The SDK refuses only signatures older than the tolerance; one dated further ahead is as suspect.
    const signedAt = signatureTimestamp(signature);
    if (signedAt === undefined || signedAt > Math.floor(Date.now() / 1000) + WEBHOOK_TOLERANCE_SECONDS) {
      throw new BillingException(
        BillingErrorCode.INVALID_SIGNATURE,
        'The webhook signature is not valid: its timestamp is outside the tolerance zone.',
      );
    }
    const shape = event as unknown as { id?: unknown; type?: unknown; created?: unknown; data?: { object?: unknown } };
    const valid =
      typeof shape.id === 'string' &&
      shape.id.length <= 255 &&
      typeof shape.type === 'string' &&
      shape.type.length <= 255 &&
      Number.isSafeInteger(shape.created) &&
      typeof shape.data?.object === 'object' &&
      shape.data.object !== null;
    if (!valid) throw new BillingException(BillingErrorCode.INVALID_EVENT, 'The body is not a Stripe event.');
    return event;
  }

  returnUrl(path: string): string {
    return `${this.config.APP_URL.replace(/\/+$/, '')}${path}`;
  }
}
