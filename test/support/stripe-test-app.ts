import { createStripeClient } from '../../src/billing/stripe/stripe.client';
import { syncStripeCatalog } from '../../src/billing/stripe/stripe-catalog';
import { PlansService } from '../../src/plans/plans.service';
import { LocalStripeServer } from '../../src/billing/local-stripe/local-stripe.server';
import { TEST_WEBHOOK_SECRET } from './stripe-events';
import { startTestApp, TestApp } from './test-app';

/** The app talking to a local Stripe server, whose catalog is created as `npm run stripe:setup` would. */
export async function startStripeTestApp(env: Record<string, string> = {}): Promise<{ t: TestApp; stripe: LocalStripeServer }> {
  const stripe = await new LocalStripeServer().start();
  const t = await startTestApp({
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    STRIPE_API_BASE: stripe.url,
    ...env,
  });
  const plans = t.app.get(PlansService);
  await syncStripeCatalog(createStripeClient(t.config)!, await plans.listPlans(), await plans.listPackages());
  return { t, stripe };
}
