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
