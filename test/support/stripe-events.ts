import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { periodInvoiceLine, signWebhookPayload } from '../../src/billing/local-stripe/stripe-events';
import type { TestApp } from './test-app';

export { stripeEvent } from '../../src/billing/local-stripe/stripe-events';

export const TEST_WEBHOOK_SECRET = 'whsec_test_secret_for_local_webhooks';

/** Posts an event to the webhook, signed with the SDK's own test header, as Stripe would. */
export function postWebhook(
  t: TestApp,
  event: object,
  options: { secret?: string; timestamp?: number; body?: string } = {},
) {
  const payload = JSON.stringify(event);
  const header = signWebhookPayload(payload, options.secret ?? TEST_WEBHOOK_SECRET, options.timestamp);
  return request(t.server)
    .post('/webhooks/stripe')
    .set('content-type', 'application/json')
    .set('stripe-signature', header)
    .send(options.body ?? payload);
}

export function checkoutSessionObject(session: Record<string, any>, overrides: Record<string, any> = {}) {
  return {
    ...session,
    object: 'checkout.session',
    status: 'complete',
    payment_status: 'paid',
    ...overrides,
  };
}

/** A subscription's invoice for its current period (Stripe.Invoice at the pinned API version). */
export function periodInvoice(
  subscription: any,
  billingReason: 'subscription_create' | 'subscription_cycle',
  status = 'paid',
): Record<string, any> {
  const item = subscription.items.data[0];
  const id = `in_${randomBytes(8).toString('hex')}`;
  return {
    id,
    object: 'invoice',
    customer: subscription.customer,
    status,
    billing_reason: billingReason,
    amount_due: item.price.unit_amount,
    amount_paid: status === 'paid' ? item.price.unit_amount : 0,
    currency: item.price.currency,
    parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id, metadata: subscription.metadata } },
    lines: {
      object: 'list',
      has_more: false,
      data: [periodInvoiceLine(id, subscription, item.price.unit_amount)],
    },
    created: Math.floor(Date.now() / 1000),
  };
}
