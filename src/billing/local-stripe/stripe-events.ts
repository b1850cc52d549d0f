import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { STRIPE_API_VERSION } from '../stripe/stripe.client';

const signer = new Stripe('sk_test_signer', { apiVersion: STRIPE_API_VERSION });

let lastCreated = 0;

/**
 * An event shaped like Stripe's at the pinned API version. Unless `created` is given, each event is created after
 * the one before, so a sequence built in one second still has an order.
 */
export function stripeEvent(type: string, object: Record<string, any>, options: { id?: string; created?: number } = {}) {
  const created = options.created ?? Math.max(Math.floor(Date.now() / 1000), lastCreated + 1);
  lastCreated = Math.max(lastCreated, created);
  return {
    id: options.id ?? `evt_${randomBytes(8).toString('hex')}`,
    object: 'event',
    api_version: STRIPE_API_VERSION,
    created,
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

export type StripeEventPayload = ReturnType<typeof stripeEvent>;

/** The Stripe-Signature header Stripe sends with `payload` (t=, v1= HMAC-SHA256 of `${t}.${payload}`). */
export function signWebhookPayload(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return signer.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/**
 * The line of a subscription's period invoice, shaped as Stripe's at the pinned API version: the subscription item
 * it bills (not a proration) and the period it pays for.
 */
export function periodInvoiceLine(invoiceId: string, subscription: Record<string, any>, amount: number) {
  const item = subscription.items.data[0];
  return {
    id: `il_${randomBytes(8).toString('hex')}`,
    object: 'line_item',
    invoice: invoiceId,
    amount,
    currency: item.price.currency,
    period: { start: item.current_period_start, end: item.current_period_end },
    parent: {
      type: 'subscription_item_details',
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: { credited_items: null },
        subscription: subscription.id,
        subscription_item: item.id,
      },
    },
    pricing: { type: 'price_details', price_details: { price: item.price.id, product: item.price.product }, unit_amount_decimal: null },
  };
}
