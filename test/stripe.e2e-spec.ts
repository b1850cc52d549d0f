import { STRIPE_API_VERSION } from '../src/billing/stripe/stripe.client';
import { syncStripeCatalog } from '../src/billing/stripe/stripe-catalog';
import { createStripeClient } from '../src/billing/stripe/stripe.client';
import { PlansService } from '../src/plans/plans.service';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { checkoutSessionObject, postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { startTestApp, TEST_APP_URL, TestApp } from './support/test-app';

const PURCHASE = `mutation ($packageId: ID!) { purchaseCredits(packageId: $packageId) { sessionId url credits } }`;
const CHANGE_PLAN = `mutation ($plan: PlanCode!) {
  changePlan(plan: $plan) { checkoutUrl subscription { plan { code } status cancelAtPeriodEnd pendingPlan { code } } }
}`;
const OVERVIEW = `{
  billing {
    subscription { plan { code } status currentPeriodStart currentPeriodEnd cancelAtPeriodEnd pendingPlan { code } }
    balances { creditType limit used remaining level }
    wallet { balance totalPurchased totalUsed }
  }
}`;
const PURCHASES = `{ creditPurchases(first: 10) { edges { node { packageId credits amountCents currency status } } } }`;

describe('billing with Stripe (e2e, real SDK against a local Stripe server)', () => {
  let t: TestApp;
  let stripe: LocalStripeServer;
  let seq = 0;
  const newAccount = () => `buyer-${++seq}`;

  const wallet = async (accountId: string) => (await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet;
  const overview = async (accountId: string) => (await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing;
  const eventsStored = async () =>
    Number((await t.dataSource.query(`SELECT count(*) AS n FROM stripe_events`))[0].n);

  /** purchaseCredits, then the session the local Stripe server holds for it. */
  const purchase = async (accountId: string, packageId = 'starter') => {
    const res = await t.gql(PURCHASE, { packageId }, { as: accountId });
    expect(res.errors).toBeUndefined();
    return stripe.sessions.get(res.data!.purchaseCredits.sessionId);
  };

  beforeAll(async () => {
    ({ t, stripe } = await startStripeTestApp({ STRIPE_TIMEOUT_MS: '400' }));
  });
  afterEach(async () => {
    expect(stripe.rejected).toEqual([]);
    await t.expectLedgerReconciles();
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });

  it('creates the catalog in Stripe once: a second run creates nothing', async () => {
    expect([...stripe.prices.values()].map((price) => price.lookup_key).sort()).toEqual([
      'credits_maximum',
      'credits_popular',
      'credits_power',
      'credits_small',
      'credits_starter',
      'plan_builder_monthly',
      'plan_elite_monthly',
      'plan_pro_monthly',
      'plan_starter_monthly',
    ]);
    const starter = [...stripe.prices.values()].find((price) => price.lookup_key === 'credits_starter');
    expect(starter).toMatchObject({ unit_amount: 500, metadata: { type: 'credit_package', credits: '100' } });
    const plans = t.app.get(PlansService);
    const again = await syncStripeCatalog(createStripeClient(t.config)!, await plans.listPlans(), await plans.listPackages());
    expect(again.every((result) => !result.created)).toBe(true);
    expect(stripe.prices.size).toBe(9);
  });

  it('opens a payment Checkout Session with the package price and metadata, and records a pending purchase', async () => {
    const accountId = newAccount();
    const res = await t.gql(PURCHASE, { packageId: 'popular' }, { as: accountId });
    expect(res.data!.purchaseCredits).toMatchObject({ credits: 1000 });
    expect(res.data!.purchaseCredits.url).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    const [call] = stripe.calls('POST', /^\/v1\/checkout\/sessions$/).slice(-1);
    const price = [...stripe.prices.values()].find((candidate) => candidate.lookup_key === 'credits_popular');
    expect(call.headers['stripe-version']).toBe(STRIPE_API_VERSION);
    expect(call.params).toMatchObject({
      mode: 'payment',
      client_reference_id: accountId,
      line_items: [{ price: price.id, quantity: '1' }],
      metadata: { type: 'credit_package', accountId, packageId: 'popular', credits: '1000' },
      payment_intent_data: { metadata: { type: 'credit_package', accountId, packageId: 'popular', credits: '1000' } },
    });
    expect(call.params.success_url).toMatch(new RegExp(`^${TEST_APP_URL}/billing/credits`));
    expect(call.params.cancel_url).toMatch(new RegExp(`^${TEST_APP_URL}/billing/credits`));
    expect(call.params.customer).toMatch(/^cus_/);
    const purchases = await t.gql(PURCHASES, {}, { as: accountId });
    expect(purchases.data!.creditPurchases.edges.map((edge: any) => edge.node)).toEqual([
      { packageId: 'popular', credits: 1000, amountCents: 3500, currency: 'usd', status: 'PENDING' },
    ]);
    // One Stripe customer per account, remembered.
    await t.gql(PURCHASE, { packageId: 'small' }, { as: accountId });
    const customers = stripe.calls('POST', /^\/v1\/checkout\/sessions$/).slice(-2).map((c) => c.params.customer);
    expect(customers[0]).toBe(customers[1]);
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
  });

  it('refuses an unknown package with NOT_FOUND and calls Stripe for nothing', async () => {
    const before = stripe.requests.length;
    const res = await t.gql(PURCHASE, { packageId: 'gigantic' }, { as: newAccount() });
    expect(res.errors![0].extensions.code).toBe('NOT_FOUND');
    expect(stripe.requests.length).toBe(before);
  });

  it('credits a purchase once, whatever Stripe repeats or however it reports the payment', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'starter');
    const completed = stripeEvent('checkout.session.completed', checkoutSessionObject(session));
    const deliveries = await Promise.all(Array.from({ length: 10 }, () => postWebhook(t, completed)));
    for (const delivery of deliveries) expect(delivery.status).toBe(200);
    expect(deliveries.filter((delivery) => delivery.body.outcome === 'APPLIED')).toHaveLength(1);
    expect(deliveries.filter((delivery) => delivery.body.outcome === 'DUPLICATE')).toHaveLength(9);
    expect(await wallet(accountId)).toEqual({ balance: 100, totalPurchased: 100, totalUsed: 0 });

    const intent = { id: session.payment_intent, object: 'payment_intent', status: 'succeeded', metadata: session.metadata };
    expect((await postWebhook(t, stripeEvent('payment_intent.succeeded', intent))).status).toBe(200);
    const asyncSucceeded = stripeEvent('checkout.session.async_payment_succeeded', checkoutSessionObject(session));
    expect((await postWebhook(t, asyncSucceeded)).status).toBe(200);
    expect(await wallet(accountId)).toEqual({ balance: 100, totalPurchased: 100, totalUsed: 0 });
    const purchases = await t.gql(PURCHASES, {}, { as: accountId });
    expect(purchases.data!.creditPurchases.edges[0].node.status).toBe('COMPLETED');
  });

  it('credits a delayed payment only when the async success arrives', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'small');
    const unpaid = stripeEvent('checkout.session.completed', checkoutSessionObject(session, { payment_status: 'unpaid' }));
    expect((await postWebhook(t, unpaid)).body.outcome).toBe('IGNORED');
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
    const succeeded = stripeEvent('checkout.session.async_payment_succeeded', checkoutSessionObject(session));
    expect((await postWebhook(t, succeeded)).body.outcome).toBe('APPLIED');
    expect(await wallet(accountId)).toMatchObject({ balance: 500 });
  });

  it('credits a payment reported first by payment_intent.succeeded, once', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'starter');
    const intent = { id: session.payment_intent, object: 'payment_intent', status: 'succeeded', metadata: session.metadata };
    await postWebhook(t, stripeEvent('payment_intent.succeeded', intent));
    await postWebhook(t, stripeEvent('checkout.session.completed', checkoutSessionObject(session)));
    expect(await wallet(accountId)).toMatchObject({ balance: 100 });
  });

  it('refuses a tampered body, a wrong secret and a stale timestamp with 400, changing nothing', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'starter');
    const event = stripeEvent('checkout.session.completed', checkoutSessionObject(session));
    const storedBefore = await eventsStored();
    const tampered = JSON.stringify(event).replace('"credits":"100"', '"credits":"100000"');
    const attempts = [
      await postWebhook(t, event, { body: tampered }),
      await postWebhook(t, event, { secret: 'whsec_someone_else' }),
      await postWebhook(t, event, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(400);
      expect(attempt.body.code).toBe('INVALID_SIGNATURE');
    }
    const unsigned = await (await import('supertest')).default(t.server).post('/webhooks/stripe').send(event);
    expect(unsigned.status).toBe(400);
    expect(await eventsStored()).toBe(storedBefore);
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
  });

  it('answers unknown events with 2xx and ignores them', async () => {
    const res = await postWebhook(t, stripeEvent('customer.created', { id: 'cus_x', object: 'customer' }));
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('IGNORED');
  });

  it('answers 5xx when applying fails, keeps nothing of it, and applies Stripe’s retry whole', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'starter');
    const event = stripeEvent('checkout.session.completed', checkoutSessionObject(session));
    await t.dataSource.query(`
      CREATE FUNCTION fail_grants() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'disk full'; END $$;
      CREATE TRIGGER fail_grants BEFORE INSERT ON credit_grants FOR EACH ROW EXECUTE FUNCTION fail_grants();`);
    const failed = await postWebhook(t, event);
    await t.dataSource.query(`DROP TRIGGER fail_grants ON credit_grants; DROP FUNCTION fail_grants();`);
    expect(failed.status).toBe(500);
    expect(JSON.stringify(failed.body)).not.toMatch(/disk full/);
    const [stored] = await t.dataSource.query(`SELECT count(*)::int AS n FROM stripe_events WHERE id = $1`, [event.id]);
    expect(stored.n).toBe(0);
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
    const retried = await postWebhook(t, event);
    expect(retried.body.outcome).toBe('APPLIED');
    expect(await wallet(accountId)).toMatchObject({ balance: 100 });
  });

  it('claws back the unspent credits of a refunded purchase, never below zero', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'starter');
    await postWebhook(t, stripeEvent('checkout.session.completed', checkoutSessionObject(session)));
    // 100 allowance + 30 from the wallet.
    const spend = await t.gql(
      `mutation { consumeCredits(input: { creditType: INTEGRATION, amount: 130, idempotencyKey: "spend" }) { allowed fromWallet } }`,
      {},
      { as: accountId },
    );
    expect(spend.data!.consumeCredits).toEqual({ allowed: true, fromWallet: 30 });
    const charge = { id: 'ch_1', object: 'charge', amount: 500, amount_refunded: 500, refunded: true, payment_intent: session.payment_intent, metadata: {} };
    const refunded = await postWebhook(t, stripeEvent('charge.refunded', charge));
    expect(refunded.status).toBe(200);
    expect(await wallet(accountId)).toMatchObject({ balance: 0, totalPurchased: 100, totalUsed: 30 });
    const clawback = await t.dataSource.query(
      `SELECT amount::int FROM credit_transactions WHERE account_id = $1 AND kind = 'CLAWBACK'`,
      [accountId],
    );
    expect(clawback).toEqual([{ amount: -70 }]);
    const purchases = await t.gql(PURCHASES, {}, { as: accountId });
    expect(purchases.data!.creditPurchases.edges[0].node.status).toBe('REFUNDED');
    // A dispute of the same payment afterwards takes nothing more.
    await postWebhook(t, stripeEvent('charge.dispute.created', { id: 'dp_1', object: 'dispute', charge: 'ch_1', payment_intent: session.payment_intent }));
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
  });

  it('claws back a partial refund in proportion, and a dispute takes the rest', async () => {
    const accountId = newAccount();
    const session = await purchase(accountId, 'small');
    await postWebhook(t, stripeEvent('checkout.session.completed', checkoutSessionObject(session)));
    const charge = { id: 'ch_2', object: 'charge', amount: 2000, amount_refunded: 800, payment_intent: session.payment_intent, metadata: {} };
    await postWebhook(t, stripeEvent('charge.refunded', charge));
    expect(await wallet(accountId)).toMatchObject({ balance: 300 });
    await postWebhook(t, stripeEvent('charge.dispute.created', { id: 'dp_2', object: 'dispute', charge: 'ch_2', payment_intent: session.payment_intent }));
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
  });

  it('gives a clear error and credits nothing when Stripe answers 500 or does not answer', async () => {
    const accountId = newAccount();
    await t.gql(OVERVIEW, {}, { as: accountId });
    stripe.fault(/^\/v1\/checkout\/sessions$/, { status: 500, times: 2 });
    const failing = await t.gql(PURCHASE, { packageId: 'starter' }, { as: accountId });
    expect(failing.errors![0].extensions.code).toBe('STRIPE_UNAVAILABLE');
    expect(failing.errors![0].message).toMatch(/payment provider is not answering.*Nothing was charged/);
    stripe.fault(/^\/v1\/checkout\/sessions$/, { delayMs: 2_000, times: 2 });
    const slow = await t.gql(PURCHASE, { packageId: 'starter' }, { as: accountId });
    expect(slow.errors![0].extensions.code).toBe('STRIPE_UNAVAILABLE');
    const purchases = await t.gql(PURCHASES, {}, { as: accountId });
    expect(purchases.data!.creditPurchases.edges).toEqual([]);
    expect(await wallet(accountId)).toMatchObject({ balance: 0 });
  });

  describe('subscriptions', () => {
    const accountId = 'subscriber';
    let subscription: any;
    const price = (lookupKey: string) => [...stripe.prices.values()].find((p) => p.lookup_key === lookupKey);

    it('starts a subscription checkout, then follows Stripe to the paid plan and its allowance', async () => {
      const change = await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId });
      expect(change.data!.changePlan.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.test\//);
      const [call] = stripe.calls('POST', /^\/v1\/checkout\/sessions$/).slice(-1);
      expect(call.params).toMatchObject({
        mode: 'subscription',
        client_reference_id: accountId,
        line_items: [{ price: price('plan_starter_monthly').id, quantity: '1' }],
        subscription_data: { metadata: { accountId, plan: 'STARTER' } },
      });
      const start = new Date();
      const end = new Date(start);
      end.setUTCMonth(end.getUTCMonth() + 1);
      subscription = stripe.createSubscription({
        customer: call.params.customer,
        price: price('plan_starter_monthly'),
        accountId,
        start,
        end,
      });
      await postWebhook(t, stripeEvent('customer.subscription.created', subscription));
      const invoice = {
        id: 'in_1',
        object: 'invoice',
        customer: subscription.customer,
        billing_reason: 'subscription_create',
        parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id } },
        lines: { data: [{ period: { start: Math.floor(start.getTime() / 1000), end: Math.floor(end.getTime() / 1000) } }] },
      };
      await postWebhook(t, stripeEvent('invoice.paid', invoice));
      const billing = await overview(accountId);
      expect(billing.subscription).toMatchObject({ plan: { code: 'STARTER' }, status: 'ACTIVE', cancelAtPeriodEnd: false });
      expect(new Date(billing.subscription.currentPeriodEnd).getTime()).toBe(Math.floor(end.getTime() / 1000) * 1000);
      const byType = Object.fromEntries(billing.balances.map((b: any) => [b.creditType, b]));
      expect(byType.MESSAGE).toMatchObject({ limit: 100, used: 0, remaining: 100 });
      expect(byType.INTEGRATION).toMatchObject({ limit: 2000, remaining: 2000 });
      expect(byType.PROJECT).toMatchObject({ limit: null, remaining: null });
      // invoice.paid for the same period again grants nothing more.
      await postWebhook(t, stripeEvent('invoice.paid', { ...invoice, id: 'in_1b' }));
      expect((await overview(accountId)).balances[0]).toMatchObject({ limit: 100, remaining: 100 });
    });

    it('upgrades at once with proration, counting what was used so far', async () => {
      await t.gql(
        `mutation { consumeCredits(input: { creditType: MESSAGE, amount: 40, idempotencyKey: "before-upgrade" }) { allowed } }`,
        {},
        { as: accountId },
      );
      const change = await t.gql(CHANGE_PLAN, { plan: 'PRO' }, { as: accountId });
      expect(change.data!.changePlan).toMatchObject({ checkoutUrl: null, subscription: { plan: { code: 'PRO' }, pendingPlan: null } });
      const [update] = stripe.calls('POST', new RegExp(`^/v1/subscriptions/${subscription.id}$`)).slice(-1);
      expect(update.params).toMatchObject({
        proration_behavior: 'always_invoice',
        items: [{ id: subscription.items.data[0].id, price: price('plan_pro_monthly').id }],
      });
      const message = (await overview(accountId)).balances[0];
      expect(message).toMatchObject({ limit: 500, used: 40, remaining: 460 });
    });

    it('downgrades at the end of the period, shown as pendingPlan', async () => {
      const change = await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId });
      expect(change.data!.changePlan.subscription).toMatchObject({ plan: { code: 'PRO' }, pendingPlan: { code: 'STARTER' } });
      const [update] = stripe.calls('POST', new RegExp(`^/v1/subscriptions/${subscription.id}$`)).slice(-1);
      expect(update.params.proration_behavior).toBe('none');
      // Stripe then reports the subscription on the lower price: still a downgrade at the period's end.
      await postWebhook(t, stripeEvent('customer.subscription.updated', stripe.subscriptions.get(subscription.id)));
      const billing = await overview(accountId);
      expect(billing.subscription).toMatchObject({ plan: { code: 'PRO' }, pendingPlan: { code: 'STARTER' } });
      expect(billing.balances[0]).toMatchObject({ limit: 500 });
    });

    it('keeps the newest state when subscription events arrive out of order', async () => {
      const base = Math.floor(Date.now() / 1000) + 100;
      const newer = { ...stripe.subscriptions.get(subscription.id), cancel_at_period_end: true };
      const older = { ...stripe.subscriptions.get(subscription.id), cancel_at_period_end: false, status: 'past_due' };
      await postWebhook(t, stripeEvent('customer.subscription.updated', newer, { created: base + 10 }));
      const late = await postWebhook(t, stripeEvent('customer.subscription.updated', older, { created: base + 5 }));
      expect(late.body.outcome).toBe('IGNORED');
      expect((await overview(accountId)).subscription).toMatchObject({ status: 'ACTIVE', cancelAtPeriodEnd: true });
    });

    it('cancels at the period end and marks failed payments past due', async () => {
      const cancel = await t.gql(`mutation { cancelSubscription { cancelAtPeriodEnd plan { code } } }`, {}, { as: accountId });
      expect(cancel.data!.cancelSubscription).toEqual({ cancelAtPeriodEnd: true, plan: { code: 'PRO' } });
      expect(stripe.subscriptions.get(subscription.id).cancel_at_period_end).toBe(true);
      const failed = {
        id: 'in_2',
        object: 'invoice',
        customer: subscription.customer,
        parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id } },
        lines: { data: [] },
      };
      await postWebhook(t, stripeEvent('invoice.payment_failed', failed));
      expect((await overview(accountId)).subscription.status).toBe('PAST_DUE');
    });

    it('renews on invoice.paid for the next period, applying the pending downgrade, once per period', async () => {
      const current = stripe.subscriptions.get(subscription.id);
      const nextStart = current.items.data[0].current_period_end;
      const nextEnd = nextStart + 30 * 86_400;
      const invoice = {
        id: 'in_3',
        object: 'invoice',
        customer: subscription.customer,
        billing_reason: 'subscription_cycle',
        parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id } },
        lines: { data: [{ period: { start: nextStart, end: nextEnd } }] },
      };
      await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId }); // downgrade again after the cancellation
      await postWebhook(t, stripeEvent('invoice.paid', invoice));
      await postWebhook(t, stripeEvent('invoice.paid', { ...invoice, id: 'in_3_retry' }));
      const billing = await overview(accountId);
      expect(billing.subscription).toMatchObject({ plan: { code: 'STARTER' }, status: 'ACTIVE', pendingPlan: null });
      expect(new Date(billing.subscription.currentPeriodStart).getTime()).toBe(nextStart * 1000);
      expect(billing.balances[0]).toMatchObject({ limit: 100, used: 0, remaining: 100 });
      const grants = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM credit_grants WHERE account_id = $1 AND kind = 'ALLOWANCE' AND period_start = $2`,
        [accountId, new Date(nextStart * 1000)],
      );
      expect(grants[0].n).toBe(2);
    });

    it('returns the account to FREE when the subscription is deleted, and opens the billing portal', async () => {
      const ended = { ...stripe.subscriptions.get(subscription.id), status: 'canceled' };
      await postWebhook(t, stripeEvent('customer.subscription.deleted', ended));
      const billing = await overview(accountId);
      expect(billing.subscription).toMatchObject({ plan: { code: 'FREE' }, status: 'ACTIVE' });
      expect(billing.balances[0]).toMatchObject({ limit: 10 });
      const portal = await t.gql(`mutation { billingPortal { url } }`, {}, { as: accountId });
      expect(portal.data!.billingPortal.url).toMatch(/^https:\/\/billing\.stripe\.test\//);
      const noSubscription = await t.gql(`mutation { cancelSubscription { cancelAtPeriodEnd } }`, {}, { as: accountId });
      expect(noSubscription.errors![0].extensions.code).toBe('NO_SUBSCRIPTION');
    });
  });
});

describe('billing without Stripe keys (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers Stripe-backed mutations with BILLING_NOT_CONFIGURED and serves everything else', async () => {
    for (const operation of [
      `mutation { purchaseCredits(packageId: "starter") { url } }`,
      `mutation { changePlan(plan: PRO) { checkoutUrl } }`,
      `mutation { cancelSubscription { cancelAtPeriodEnd } }`,
    ]) {
      const res = await t.gql(operation, {}, { as: 'no-stripe' });
      expect(res.errors![0].extensions.code).toBe('BILLING_NOT_CONFIGURED');
    }
    const overview = await t.gql(`{ billing { wallet { balance } } plans { code } }`, {}, { as: 'no-stripe' });
    expect(overview.errors).toBeUndefined();
    const webhook = await postWebhook(t, stripeEvent('invoice.paid', {}));
    expect(webhook.status).toBe(503);
  });
});
