import { Logger } from '@nestjs/common';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { checkoutSessionObject, postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { TestApp } from './support/test-app';

const CHANGE_PLAN = `mutation ($plan: PlanCode!) {
  changePlan(plan: $plan) { checkoutUrl subscription { plan { code } status } }
}`;
const PURCHASE = `mutation ($packageId: ID!) { purchaseCredits(packageId: $packageId) { sessionId url credits } }`;
const PURCHASES = `{ creditPurchases(first: 10) { edges { node { packageId credits amountCents currency status } } } }`;
const OVERVIEW = `{ billing { subscription { plan { code } status } balances { creditType limit } wallet { balance } } }`;

/**
 * Which subscription an event belongs to, and what a payment record says: one live subscription per account,
 * reused checkouts, what was really paid, and events that cannot be applied.
 */
describe('Stripe identity: one live subscription, what was paid, events that cannot be applied (e2e)', () => {
  let t: TestApp;
  let stripe: LocalStripeServer;
  let seq = 0;
  const newAccount = () => `identity-${++seq}`;
  const price = (lookupKey: string) => [...stripe.prices.values()].find((p) => p.lookup_key === lookupKey);

  const post = async (event: object) => {
    const res = await postWebhook(t, event);
    expect(res.status).toBe(200);
    return res.body.outcome as string;
  };
  const accountRow = async (accountId: string) =>
    (
      await t.dataSource.query(
        `SELECT plan_code, status, stripe_subscription_id, cancel_at_period_end, current_period_start
           FROM accounts WHERE id = $1`,
        [accountId],
      )
    )[0];
  const eventRow = async (eventId: string) =>
    (await t.dataSource.query(`SELECT outcome, detail FROM stripe_events WHERE id = $1`, [eventId]))[0];
  const sessionIdOf = (checkoutUrl: string) => checkoutUrl.split('/').pop()!;
  const checkoutsCreatedFor = (accountId: string) =>
    stripe.calls('POST', /^\/v1\/checkout\/sessions$/).filter((call) => call.params.client_reference_id === accountId);
  /** The sessions Stripe holds for an account and plan (requests sharing an idempotency key create one). */
  const sessionsOf = (accountId: string, plan: string) =>
    [...stripe.sessions.values()].filter((session) => session.client_reference_id === accountId && session.metadata.plan === plan);

  /** changePlan, the customer paying the Checkout, and Stripe's events for it, in Stripe's order. */
  const subscribe = async (accountId: string, plan = 'STARTER') => {
    const change = await t.gql(CHANGE_PLAN, { plan }, { as: accountId });
    expect(change.errors).toBeUndefined();
    const session = stripe.completeCheckout(sessionIdOf(change.data!.changePlan.checkoutUrl));
    const subscription = stripe.subscriptions.get(session.subscription);
    await post(stripeEvent('checkout.session.completed', session));
    expect(await post(stripeEvent('customer.subscription.created', subscription))).toBe('APPLIED');
    await post(stripeEvent('invoice.paid', stripe.invoices.get(subscription.latest_invoice)));
    expect(await accountRow(accountId)).toMatchObject({ plan_code: plan, stripe_subscription_id: subscription.id });
    return subscription;
  };

  beforeAll(async () => {
    ({ t, stripe } = await startStripeTestApp());
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    expect(stripe.rejected).toEqual([]);
    await t.expectLedgerReconciles();
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });

  describe('item 8: deleted subscriptions stay deleted', () => {
    it('item 8: a created or updated event of the same second as the applied deletion does not bring the plan back', async () => {
      const accountId = newAccount();
      const subscription = await subscribe(accountId, 'PRO');
      const second = Math.floor(Date.now() / 1000) + 30;
      const ended = { ...subscription, status: 'canceled', ended_at: second };
      expect(await post(stripeEvent('customer.subscription.deleted', ended, { created: second }))).toBe('APPLIED');
      const updated = stripeEvent('customer.subscription.updated', { ...subscription, status: 'active' }, { created: second });
      const created = stripeEvent('customer.subscription.created', { ...subscription, status: 'active' }, { created: second });
      expect(await post(updated)).toBe('IGNORED');
      expect(await post(created)).toBe('IGNORED');
      expect(await accountRow(accountId)).toMatchObject({ plan_code: 'FREE', stripe_subscription_id: null });
      const message = (await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing.balances.find(
        (b: any) => b.creditType === 'MESSAGE',
      );
      expect(message.limit).toBe(10);
    });

    it('item 8: a deletion applies even after a later event of the same subscription was applied', async () => {
      const accountId = newAccount();
      const subscription = await subscribe(accountId, 'STARTER');
      const base = Math.floor(Date.now() / 1000) + 60;
      await post(stripeEvent('customer.subscription.updated', { ...subscription, cancel_at_period_end: true }, { created: base + 10 }));
      const deleted = stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }, { created: base + 5 });
      expect(await post(deleted)).toBe('APPLIED');
      expect(await accountRow(accountId)).toMatchObject({ plan_code: 'FREE', stripe_subscription_id: null });
    });

    it('item 8: a late invoice.paid for a deleted subscription does not re-attach it; changePlan then opens a Checkout', async () => {
      const accountId = newAccount();
      const subscription = await subscribe(accountId, 'STARTER');
      stripe.subscriptions.get(subscription.id).status = 'canceled';
      await post(stripeEvent('customer.subscription.deleted', stripe.subscriptions.get(subscription.id)));
      const before = await accountRow(accountId);

      const item = subscription.items.data[0];
      const late = {
        ...stripe.invoices.get(subscription.latest_invoice),
        id: 'in_late_after_deletion',
        billing_reason: 'subscription_cycle',
        lines: { object: 'list', data: [{ period: { start: item.current_period_end, end: item.current_period_end + 30 * 86_400 } }] },
      };
      expect(await post(stripeEvent('invoice.paid', late))).toBe('IGNORED');
      const failed = { ...late, id: 'in_late_failed', status: 'open' };
      expect(await post(stripeEvent('invoice.payment_failed', failed))).toBe('IGNORED');
      expect(await accountRow(accountId)).toEqual(before);
      expect(before).toMatchObject({ plan_code: 'FREE', status: 'ACTIVE', stripe_subscription_id: null });
      const starterGrants = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM credit_grants WHERE account_id = $1 AND kind = 'ALLOWANCE' AND period_start = $2`,
        [accountId, new Date(item.current_period_end * 1000)],
      );
      expect(starterGrants[0].n).toBe(0);

      const updatesBefore = stripe.calls('POST', new RegExp(`^/v1/subscriptions/${subscription.id}$`)).length;
      const change = await t.gql(CHANGE_PLAN, { plan: 'PRO' }, { as: accountId });
      expect(change.errors).toBeUndefined();
      expect(change.data!.changePlan.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.test\//);
      expect(stripe.calls('POST', new RegExp(`^/v1/subscriptions/${subscription.id}$`))).toHaveLength(updatesBefore);
    });

    it('item 8: changePlan detaches a subscription that ended in Stripe without its event, and opens a Checkout', async () => {
      const accountId = newAccount();
      const subscription = await subscribe(accountId, 'STARTER');
      // Stripe ended it; the deletion event has not arrived (late or lost).
      stripe.subscriptions.get(subscription.id).status = 'canceled';
      const change = await t.gql(CHANGE_PLAN, { plan: 'PRO' }, { as: accountId });
      expect(change.errors).toBeUndefined();
      expect(change.data!.changePlan.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.test\//);
      expect(stripe.calls('POST', new RegExp(`^/v1/subscriptions/${subscription.id}$`))).toHaveLength(0);
      expect(await accountRow(accountId)).toMatchObject({ plan_code: 'FREE', stripe_subscription_id: null });
      // Its deletion event, arriving now, changes nothing more.
      const deleted = stripeEvent('customer.subscription.deleted', stripe.subscriptions.get(subscription.id));
      expect(await post(deleted)).toBe('IGNORED');
      const retired = await t.dataSource.query(`SELECT reason FROM retired_subscriptions WHERE id = $1`, [subscription.id]);
      expect(retired).toEqual([{ reason: 'ENDED' }]);
    });
  });

  describe('item 9: one open checkout per plan, one live subscription', () => {
    it('item 9: asking again for the same plan, even concurrently, reuses the open Checkout Session', async () => {
      const accountId = newAccount();
      const answers = await Promise.all(Array.from({ length: 4 }, () => t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId })));
      const again = await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId });
      const urls = new Set([...answers, again].map((answer) => answer.data?.changePlan.checkoutUrl));
      expect(urls.size).toBe(1);
      const [url] = [...urls];
      expect(url).toMatch(/^https:\/\/checkout\.stripe\.test\//);
      expect(sessionsOf(accountId, 'STARTER')).toHaveLength(1);
      const keys = checkoutsCreatedFor(accountId).map((call) => call.headers['idempotency-key']);
      expect(new Set(keys).size).toBe(1);
      const stored = await t.dataSource.query(
        `SELECT plan_code, status, stripe_checkout_session_id FROM subscription_checkouts WHERE account_id = $1`,
        [accountId],
      );
      expect(stored).toEqual([{ plan_code: 'STARTER', status: 'OPEN', stripe_checkout_session_id: sessionIdOf(url) }]);

      // Another plan is another checkout.
      const pro = await t.gql(CHANGE_PLAN, { plan: 'PRO' }, { as: accountId });
      expect(pro.data!.changePlan.checkoutUrl).not.toBe(url);

      // Once the session has expired, the next request opens a new one.
      const expired = stripe.sessions.get(sessionIdOf(url));
      Object.assign(expired, { status: 'expired', url: null });
      expect(await post(stripeEvent('checkout.session.expired', expired))).toBe('APPLIED');
      const fresh = await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId });
      expect(fresh.data!.changePlan.checkoutUrl).not.toBe(url);
      expect(sessionsOf(accountId, 'STARTER')).toHaveLength(2);
    });

    it('item 9: a session Stripe reports expired (or close to expiry) is not handed out again', async () => {
      const accountId = newAccount();
      const first = (await t.gql(CHANGE_PLAN, { plan: 'BUILDER' }, { as: accountId })).data!.changePlan.checkoutUrl;
      // Expired in Stripe, its event not here yet.
      Object.assign(stripe.sessions.get(sessionIdOf(first)), { status: 'expired', url: null });
      const second = (await t.gql(CHANGE_PLAN, { plan: 'BUILDER' }, { as: accountId })).data!.changePlan.checkoutUrl;
      expect(second).not.toBe(first);
      // Close to its expiry: closed in Stripe, and a new one opened.
      t.clock.set(new Date(stripe.sessions.get(sessionIdOf(second)).expires_at * 1000 - 60_000));
      try {
        const third = (await t.gql(CHANGE_PLAN, { plan: 'BUILDER' }, { as: accountId })).data!.changePlan.checkoutUrl;
        expect(third).not.toBe(second);
        expect(stripe.calls('POST', new RegExp(`^/v1/checkout/sessions/${sessionIdOf(second)}/expire$`))).toHaveLength(1);
      } finally {
        t.clock.set(new Date());
      }
      const statuses = await t.dataSource.query(
        `SELECT status FROM subscription_checkouts WHERE account_id = $1 ORDER BY created_at`,
        [accountId],
      );
      expect(statuses.map((row: any) => row.status)).toEqual(['EXPIRED', 'EXPIRED', 'OPEN']);
    });

    it('item 9: a second subscription that completes anyway is cancelled and refunded automatically, and logged', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      const accountId = newAccount();
      const starterUrl = (await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId })).data!.changePlan.checkoutUrl;
      const proUrl = (await t.gql(CHANGE_PLAN, { plan: 'PRO' }, { as: accountId })).data!.changePlan.checkoutUrl;
      // The customer pays both tabs.
      const first = stripe.subscriptions.get(stripe.completeCheckout(sessionIdOf(starterUrl)).subscription);
      const second = stripe.subscriptions.get(stripe.completeCheckout(sessionIdOf(proUrl)).subscription);
      await post(stripeEvent('customer.subscription.created', first));
      await post(stripeEvent('invoice.paid', stripe.invoices.get(first.latest_invoice)));

      expect(await post(stripeEvent('customer.subscription.created', second))).toBe('APPLIED');
      expect(stripe.calls('DELETE', new RegExp(`^/v1/subscriptions/${second.id}$`))).toHaveLength(1);
      expect(stripe.subscriptions.get(second.id).status).toBe('canceled');
      const secondIntent = [...stripe.invoicePayments.values()].find((p) => p.invoice === second.latest_invoice).payment.payment_intent;
      const refunds = () => [...stripe.refunds.values()].filter((refund) => refund.payment_intent === secondIntent);
      expect(refunds()).toEqual([expect.objectContaining({ amount: price('plan_pro_monthly').unit_amount, reason: 'duplicate' })]);
      expect(stripe.subscriptions.get(first.id).status).toBe('active');
      expect(warn.mock.calls.some(([message]) => String(message).includes(second.id))).toBe(true);

      // Stripe's further events about the second subscription change nothing, and refund nothing twice.
      await post(stripeEvent('invoice.paid', stripe.invoices.get(second.latest_invoice)));
      await post(stripeEvent('customer.subscription.updated', { ...second, status: 'active' }));
      expect(await post(stripeEvent('customer.subscription.deleted', stripe.subscriptions.get(second.id)))).toBe('IGNORED');
      expect(refunds()).toHaveLength(1);
      expect(stripe.calls('DELETE', new RegExp(`^/v1/subscriptions/${second.id}$`))).toHaveLength(1);

      expect(await accountRow(accountId)).toMatchObject({ plan_code: 'STARTER', stripe_subscription_id: first.id });
      const retired = await t.dataSource.query(
        `SELECT reason, refunded_cents, settled_at IS NOT NULL AS settled FROM retired_subscriptions WHERE id = $1`,
        [second.id],
      );
      expect(retired).toEqual([{ reason: 'DUPLICATE', refunded_cents: price('plan_pro_monthly').unit_amount, settled: true }]);
      const proGrants = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM credit_grants WHERE account_id = $1 AND description ILIKE '%pro%'`,
        [accountId],
      );
      expect(proGrants[0].n).toBe(0);
      const message = (await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing.balances.find(
        (b: any) => b.creditType === 'MESSAGE',
      );
      expect(message.limit).toBe(100);
    });

    it('item 9: a duplicate Stripe could not cancel at first is cancelled and refunded with the next webhook', async () => {
      const accountId = newAccount();
      const first = await subscribe(accountId, 'STARTER');
      // A second one made outside this service (the Dashboard, an old link), while Stripe is failing.
      const second = stripe.createSubscription({
        customer: first.customer,
        price: price('plan_pro_monthly'),
        accountId,
        start: new Date(),
        end: new Date(Date.now() + 30 * 86_400_000),
      });
      stripe.fault(new RegExp(`^/v1/subscriptions/${second.id}$`), { status: 500, times: 2 });
      expect(await post(stripeEvent('customer.subscription.created', second))).toBe('APPLIED');
      expect(await accountRow(accountId)).toMatchObject({ plan_code: 'STARTER', stripe_subscription_id: first.id });
      expect(stripe.subscriptions.get(second.id).status).toBe('active');
      const pending = await t.dataSource.query(`SELECT settled_at FROM retired_subscriptions WHERE id = $1`, [second.id]);
      expect(pending).toEqual([{ settled_at: null }]);

      await post(stripeEvent('customer.created', { id: 'cus_other', object: 'customer' }));
      expect(stripe.subscriptions.get(second.id).status).toBe('canceled');
      expect([...stripe.refunds.values()].filter((r) => r.metadata.subscription === second.id)).toHaveLength(1);
      expect(await accountRow(accountId)).toMatchObject({ plan_code: 'STARTER', stripe_subscription_id: first.id });
    });
  });

  describe('item 10: the purchase records what was paid', () => {
    const purchase = async (accountId: string, packageId = 'starter') => {
      const res = await t.gql(PURCHASE, { packageId }, { as: accountId });
      expect(res.errors).toBeUndefined();
      return stripe.sessions.get(res.data!.purchaseCredits.sessionId);
    };
    const purchaseRow = async (accountId: string) =>
      (await t.dataSource.query(`SELECT amount_cents, currency, status FROM credit_purchases WHERE account_id = $1`, [accountId]))[0];

    it('item 10: amountCents and currency come from the completed session (discounts, taxes)', async () => {
      const accountId = newAccount();
      const session = await purchase(accountId, 'starter');
      expect(await purchaseRow(accountId)).toEqual({ amount_cents: 500, currency: 'usd', status: 'PENDING' });
      // A 20 % promotion code, then 19 % VAT, charged in euros.
      const completed = checkoutSessionObject(session, { amount_subtotal: 500, amount_total: 476, currency: 'eur' });
      expect(await post(stripeEvent('checkout.session.completed', completed))).toBe('APPLIED');
      expect(await purchaseRow(accountId)).toEqual({ amount_cents: 476, currency: 'eur', status: 'COMPLETED' });
      const listed = await t.gql(PURCHASES, {}, { as: accountId });
      expect(listed.data!.creditPurchases.edges[0].node).toMatchObject({ amountCents: 476, currency: 'eur', credits: 100 });
      expect((await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(100);
    });

    it('item 10: a no_payment_required session is recorded with amount 0, also when the payment was reported first', async () => {
      const accountId = newAccount();
      const session = await purchase(accountId, 'small');
      const intent = { id: session.payment_intent, object: 'payment_intent', status: 'succeeded', metadata: session.metadata };
      await post(stripeEvent('payment_intent.succeeded', intent));
      const free = checkoutSessionObject(session, { payment_status: 'no_payment_required', amount_total: 0, currency: 'usd' });
      await post(stripeEvent('checkout.session.completed', free));
      expect(await purchaseRow(accountId)).toEqual({ amount_cents: 0, currency: 'usd', status: 'COMPLETED' });
      const grants = await t.dataSource.query(
        `SELECT amount::int FROM credit_grants WHERE account_id = $1 AND kind = 'PURCHASE'`,
        [accountId],
      );
      expect(grants).toEqual([{ amount: 500 }]);
    });
  });

  describe('item 11: events that name another account, events that cannot be applied, Stripe busy', () => {
    it('item 11: a subscription event whose metadata names another account applies to the account that has the subscription', async () => {
      const owner = newAccount();
      const other = newAccount();
      const subscription = await subscribe(owner, 'STARTER');
      await t.gql(PURCHASE, { packageId: 'starter' }, { as: other }); // `other` has a Stripe customer of its own
      const otherBefore = await accountRow(other);
      const event = stripeEvent('customer.subscription.updated', {
        ...subscription,
        cancel_at_period_end: true,
        metadata: { accountId: other, plan: 'STARTER' },
      });
      const first = await postWebhook(t, event);
      expect(first.status).toBe(200);
      expect(first.body.outcome).toBe('APPLIED');
      expect(await accountRow(owner)).toMatchObject({ stripe_subscription_id: subscription.id, cancel_at_period_end: true });
      expect(await accountRow(other)).toEqual(otherBefore);
      const retry = await postWebhook(t, event);
      expect(retry.status).toBe(200);
      expect(retry.body.outcome).toBe('DUPLICATE');
    });

    it('item 11: an event that cannot be applied is answered 2xx, recorded as UNAPPLIED and logged, not retried forever', async () => {
      const error = jest.spyOn(Logger.prototype, 'error');
      const accountId = newAccount();
      const subscription = await subscribe(accountId, 'STARTER');
      const before = await accountRow(accountId);
      const grantsBefore = await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_grants WHERE account_id = $1`, [accountId]);
      // A new period that ends where it starts: the account cannot hold it, now or on any retry.
      const start = subscription.items.data[0].current_period_end;
      const broken = {
        ...subscription,
        items: { ...subscription.items, data: [{ ...subscription.items.data[0], current_period_start: start, current_period_end: start }] },
      };
      const event = stripeEvent('customer.subscription.updated', broken);
      for (let delivery = 0; delivery < 2; delivery++) {
        const res = await postWebhook(t, event);
        expect(res.status).toBe(200);
        expect(res.body.outcome).toBe('UNAPPLIED');
      }
      expect(await eventRow(event.id)).toEqual({ outcome: 'UNAPPLIED', detail: expect.stringMatching(/check constraint/i) });
      expect(await accountRow(accountId)).toEqual(before);
      const grantsAfter = await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_grants WHERE account_id = $1`, [accountId]);
      expect(grantsAfter).toEqual(grantsBefore);
      expect(error.mock.calls.some(([message]) => String(message).includes(event.id) && String(message).includes('UNAPPLIED'))).toBe(true);
    });

    it('item 11: a 409 idempotency-key-in-use answer on our own Stripe call is retried, not reported to the user', async () => {
      const accountId = newAccount();
      // Stripe still busy with the same key for longer than the SDK's own single retry waits.
      stripe.fault(/^\/v1\/checkout\/sessions$/, { status: 409, times: 2 });
      const res = await t.gql(PURCHASE, { packageId: 'starter' }, { as: accountId });
      expect(res.errors).toBeUndefined();
      const attempts = checkoutsCreatedFor(accountId);
      expect(attempts).toHaveLength(3);
      expect(new Set(attempts.map((call) => call.headers['idempotency-key'])).size).toBe(1);
      expect(stripe.sessions.has(res.data!.purchaseCredits.sessionId)).toBe(true);
      const rows = await t.dataSource.query(`SELECT status FROM credit_purchases WHERE account_id = $1`, [accountId]);
      expect(rows).toEqual([{ status: 'PENDING' }]);
    });

    it('item 11: concurrent first requests of an account share one Stripe customer through the busy idempotency key', async () => {
      const accountId = newAccount();
      stripe.fault(/^\/v1\/customers$/, { delayMs: 1_200, times: 1 });
      const answers = await Promise.all([
        t.gql(PURCHASE, { packageId: 'starter' }, { as: accountId }),
        new Promise((resolve) => setTimeout(resolve, 50)).then(() => t.gql(PURCHASE, { packageId: 'small' }, { as: accountId })),
      ]);
      for (const answer of answers) expect(answer.errors).toBeUndefined();
      const customers = [...stripe.customers.values()].filter((customer) => customer.metadata.accountId === accountId);
      expect(customers).toHaveLength(1);
      const [row] = await t.dataSource.query(`SELECT stripe_customer_id FROM accounts WHERE id = $1`, [accountId]);
      expect(row.stripe_customer_id).toBe(customers[0].id);
      const purchases = await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_purchases WHERE account_id = $1`, [accountId]);
      expect(purchases[0].n).toBe(2);
    });
  });
});
