import { Provider } from '@nestjs/common';
import Stripe from 'stripe';
import { AppConfig } from '../../config/app-config';

/** The Stripe API version this service is written against; pinned so that Stripe's object shapes cannot drift. */
export const STRIPE_API_VERSION = '2026-10-28.endive';

export const STRIPE_CLIENT = Symbol('STRIPE_CLIENT');

/** The real Stripe SDK, or null when no key is configured (Stripe-backed operations then answer BILLING_NOT_CONFIGURED). */
export function createStripeClient(config: AppConfig): Stripe | null {
  if (!config.STRIPE_SECRET_KEY) return null;
  const base = config.STRIPE_API_BASE ? new URL(config.STRIPE_API_BASE) : undefined;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    apiVersion: STRIPE_API_VERSION,
    timeout: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: 1,
    appInfo: { name: 'credit-billing-service' },
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
}

export const stripeClientProvider: Provider = {
  provide: STRIPE_CLIENT,
  inject: [AppConfig],
  useFactory: createStripeClient,
};
