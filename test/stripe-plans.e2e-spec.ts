import { randomBytes } from 'node:crypto';
import { RenewalService } from '../src/accounts/renewal.service';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { periodInvoice, postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { TestApp } from './support/test-app';

const CHANGE_PLAN = `mutation ($plan: PlanCode!) {
  changePlan(plan: $plan) {
    checkoutUrl
    subscription { plan { code } status cancelAtPeriodEnd pendingPlan { code } }
    payment { status hostedInvoiceUrl }
  }
}`;
const OVERVIEW = `{
  billing {
    subscription { plan { code } status currentPeriodStart currentPeriodEnd cancelAtPeriodEnd }
    balances { creditType limit used remaining }
  }
}`;
const CONSUME = `mutation ($type: CreditType!, $amount: Int!, $key: String!) {
  consumeCredits(input: { creditType: $type, amount: $amount, idempotencyKey: $key }) { allowed }
}`;
const HOUR = 3_600_000;

/** Paid plans and what Stripe reports about them: allowance only for paid periods (issue 16, items 4 to 7). */
describe('paid plans with Stripe (e2e, real SDK against a local Stripe server)', () => {
  let t: TestApp;
  let stripe: LocalStripeServer;
  let seq = 0;
  const newAccount = () => `plans-${++seq}-${randomBytes(3).toString('hex')}`;
  const price = (lookupKey: string) => [...stripe.prices.values()].find((candidate) => candidate.lookup_key === lookupKey);

  const billing = async (accountId: string) => {
    const res = await t.gql(OVERVIEW, {}, { as: accountId });
    expect(res.errors).toBeUndefined();
    const balances = Object.fromEntries(res.data!.billing.balances.map((b: any) => [b.creditType, b]));
    return { subscription: res.data!.billing.subscription, balances };
  };
  const consume = async (accountId: string, type: 'MESSAGE' | 'INTEGRATION', amount: number) => {
    const res = await t.gql(CONSUME, { type, amount, key: randomBytes(6).toString('hex') }, { as: accountId });
    expect(res.errors).toBeUndefined();
    return res.data!.consumeCredits.allowed as boolean;
  };
  const accountRow = async (accountId: string) =>
    (await t.dataSource.query(`SELECT * FROM accounts WHERE id = $1`, [accountId]))[0];
  const allowanceGrants = (accountId: string) =>
    t.dataSource.query(
      `SELECT pool, period_start, amount::int FROM credit_grants
        WHERE account_id = $1 AND kind = 'ALLOWANCE' ORDER BY created_at, pool`,
      [accountId],
    );
  const subscriptionCalls = (subscriptionId: string) =>
    stripe.calls('POST', new RegExp(`^/v1/subscriptions/${subscriptionId}$`));

  /**
   * A subscription started through Checkout two days ago, as Stripe reports it; `active` ones with their first
   * invoice paid.
   */
  const subscribe = async (accountId: string, plan: 'STARTER' | 'PRO' | 'ELITE', status = 'active') => {
    const change = await t.gql(CHANGE_PLAN, { plan }, { as: accountId });
    expect(change.data!.changePlan.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    const [checkout] = stripe.calls('POST', /^\/v1\/checkout\/sessions$/).slice(-1);
    const start = new Date(Date.now() - 2 * 86_400_000);
    const end = new Date(start);
    end.setUTCMonth(end.getUTCMonth() + 1);
    const subscription = stripe.createSubscription({
      customer: checkout.params.customer,
      price: price(`plan_${plan.toLowerCase()}_monthly`),
      accountId,
      start,
      end,
    });
    subscription.status = status;
    await postWebhook(t, stripeEvent('customer.subscription.created', subscription));
    if (status === 'active') await postWebhook(t, stripeEvent('invoice.paid', periodInvoice(subscription, 'subscription_create')));
    return subscription;
  };

  beforeAll(async () => {
    ({ t, stripe } = await startStripeTestApp());
  });
  afterEach(() => {
    expect(stripe.rejected).toEqual([]);
    t.clock.set(new Date());
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });

  it("item 4: an upgrade's proration invoice (billing_reason subscription_update) starts no period", async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    expect(await consume(accountId, 'MESSAGE', 30)).toBe(true);
    const before = await accountRow(accountId);

    const change = await t.gql(CHANGE_PLAN, { plan: 'PRO' }, { as: accountId });
    expect(change.data!.changePlan).toMatchObject({ subscription: { plan: { code: 'PRO' } }, payment: null });
    const upgradeInvoice = stripe.invoices.get(stripe.subscriptions.get(subscription.id).latest_invoice);
    expect(upgradeInvoice).toMatchObject({ billing_reason: 'subscription_update', status: 'paid' });
    expect(upgradeInvoice.lines.data.every((line: any) => line.parent.subscription_item_details.proration)).toBe(true);
    expect(upgradeInvoice.lines.data[0].period.start).toBeGreaterThan(subscription.items.data[0].current_period_start);

    const expiredRows = async () =>
      (
        await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_transactions WHERE account_id = $1 AND kind = 'EXPIRE'`, [
          accountId,
        ])
      )[0].n;
    const grantsBefore = await allowanceGrants(accountId);
    const expiredBefore = await expiredRows();
    const paid = await postWebhook(t, stripeEvent('invoice.paid', upgradeInvoice));
    expect(paid.status).toBe(200);
    const after = await billing(accountId);
    expect(after.balances.MESSAGE).toMatchObject({ limit: 500, used: 30, remaining: 470 });
    const row = await accountRow(accountId);
    expect(row.current_period_start).toEqual(before.current_period_start);
    expect(row.period_anchor).toEqual(before.period_anchor);
    expect(await allowanceGrants(accountId)).toEqual(grantsBefore);
    expect(await expiredRows()).toBe(expiredBefore);

    // The renewal's invoice may carry a leftover proration line first: the period is the one that is not a proration.
    const nextStart = subscription.items.data[0].current_period_end;
    const nextEnd = nextStart + 30 * 86_400;
    const cycle = {
      ...upgradeInvoice,
      id: `in_cycle_${accountId}`,
      billing_reason: 'subscription_cycle',
      lines: {
        object: 'list',
        data: [
          upgradeInvoice.lines.data[1],
          {
            ...upgradeInvoice.lines.data[1],
            id: `il_cycle_${accountId}`,
            period: { start: nextStart, end: nextEnd },
            parent: {
              ...upgradeInvoice.lines.data[1].parent,
              subscription_item_details: {
                ...upgradeInvoice.lines.data[1].parent.subscription_item_details,
                invoice_item: null,
                proration: false,
              },
            },
          },
        ],
        has_more: false,
      },
    };
    await postWebhook(t, stripeEvent('invoice.paid', cycle));
    const renewed = await accountRow(accountId);
    expect(renewed.current_period_start.getTime()).toBe(nextStart * 1000);
    expect(renewed.current_period_end.getTime()).toBe(nextEnd * 1000);
    expect((await billing(accountId)).balances.MESSAGE).toMatchObject({ limit: 500, used: 0 });
    await t.expectLedgerReconciles();
  });

  it('item 5: an upgrade is granted only once paid; a declined or 3-D Secure payment keeps the plan and says where to pay', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    expect(await consume(accountId, 'MESSAGE', 30)).toBe(true);

    stripe.failNextPayment('card_declined');
    const declined = await t.gql(CHANGE_PLAN, { plan: 'ELITE' }, { as: accountId });
    expect(declined.errors).toBeUndefined();
    expect(declined.data!.changePlan).toMatchObject({
      checkoutUrl: null,
      subscription: { plan: { code: 'STARTER' } },
      payment: { status: 'FAILED', hostedInvoiceUrl: expect.stringMatching(/^https:\/\/invoice\.stripe\.test\//) },
    });
    const [update] = subscriptionCalls(subscription.id).slice(-1);
    expect(update.params).toMatchObject({ proration_behavior: 'always_invoice', payment_behavior: 'pending_if_incomplete' });
    expect(stripe.subscriptions.get(subscription.id).pending_update).not.toBeNull();
    const failedInvoice = stripe.invoices.get(stripe.subscriptions.get(subscription.id).latest_invoice);
    await postWebhook(t, stripeEvent('invoice.payment_failed', failedInvoice));

    const refused = await billing(accountId);
    expect(refused.subscription).toMatchObject({ plan: { code: 'STARTER' }, status: 'ACTIVE' });
    expect(refused.balances.MESSAGE).toMatchObject({ limit: 100, used: 30, remaining: 70 });
    expect(await consume(accountId, 'MESSAGE', 71)).toBe(false);
    const periodStart = subscription.items.data[0].current_period_start * 1000;
    const grants = (await allowanceGrants(accountId)).filter((grant: any) => grant.period_start.getTime() === periodStart);
    expect(grants.map((grant: any) => [grant.pool, grant.amount])).toEqual([
      ['INTEGRATION', 2000],
      ['MESSAGE', 100],
    ]);
    expect(await accountRow(accountId)).toMatchObject({ plan_code: 'STARTER', subscription_plan_code: 'STARTER' });

    stripe.failNextPayment('requires_action');
    const authenticate = await t.gql(CHANGE_PLAN, { plan: 'ELITE' }, { as: accountId });
    expect(authenticate.data!.changePlan).toMatchObject({
      subscription: { plan: { code: 'STARTER' } },
      payment: { status: 'REQUIRES_ACTION', hostedInvoiceUrl: expect.stringMatching(/^https:\/\/invoice\.stripe\.test\//) },
    });
    expect((await billing(accountId)).balances.MESSAGE).toMatchObject({ limit: 100, used: 30 });

    // The customer authenticates on the hosted invoice: Stripe applies the pending update and reports it.
    const { invoice, subscription: upgraded } = stripe.payOpenInvoice(stripe.subscriptions.get(subscription.id).latest_invoice);
    await postWebhook(t, stripeEvent('invoice.paid', invoice));
    await postWebhook(t, stripeEvent('customer.subscription.updated', upgraded));
    const paid = await billing(accountId);
    expect(paid.subscription).toMatchObject({ plan: { code: 'ELITE' }, status: 'ACTIVE' });
    expect(paid.balances.MESSAGE).toMatchObject({ limit: 1200, used: 30, remaining: 1170 });
    expect(await consume(accountId, 'MESSAGE', 71)).toBe(true);
    await t.expectLedgerReconciles();
  });

  it('item 6: an incomplete subscription gets the FREE allowance until its first invoice is paid', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'ELITE', 'incomplete');
    const unpaid = await billing(accountId);
    expect(unpaid.subscription).toMatchObject({ plan: { code: 'FREE' }, status: 'INCOMPLETE' });
    expect(unpaid.balances.MESSAGE).toMatchObject({ limit: 10, used: 0 });
    expect(unpaid.balances.PROJECT).toMatchObject({ limit: 3 });
    expect(await consume(accountId, 'MESSAGE', 11)).toBe(false);
    expect(await consume(accountId, 'MESSAGE', 4)).toBe(true);
    expect(await accountRow(accountId)).toMatchObject({ plan_code: 'FREE', subscription_plan_code: 'ELITE', status: 'INCOMPLETE' });
    expect((await allowanceGrants(accountId)).map((grant: any) => grant.amount)).not.toContain(1200);

    // The first payment goes through: the subscription's first period starts with the ELITE allowance.
    subscription.status = 'active';
    await postWebhook(t, stripeEvent('invoice.paid', periodInvoice(subscription, 'subscription_create')));
    await postWebhook(t, stripeEvent('customer.subscription.updated', subscription));
    const paid = await billing(accountId);
    expect(paid.subscription).toMatchObject({ plan: { code: 'ELITE' }, status: 'ACTIVE' });
    expect(paid.balances.MESSAGE).toMatchObject({ limit: 1200, used: 0 });
    expect(new Date(paid.subscription.currentPeriodStart).getTime()).toBe(subscription.items.data[0].current_period_start * 1000);
    await t.expectLedgerReconciles();
  });

  it('item 6: a past-due subscription keeps its plan for PAST_DUE_GRACE_HOURS, then has FREE limits until invoice.paid restores the period', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    expect(await consume(accountId, 'MESSAGE', 30)).toBe(true);
    const failedAt = new Date();
    t.clock.set(failedAt);
    subscription.status = 'past_due';
    const renewalInvoice = periodInvoice(subscription, 'subscription_cycle', 'open');
    await postWebhook(t, stripeEvent('invoice.payment_failed', renewalInvoice));
    await postWebhook(t, stripeEvent('customer.subscription.updated', subscription));
    expect(await accountRow(accountId)).toMatchObject({ status: 'PAST_DUE', plan_code: 'STARTER' });

    const renewal = t.app.get(RenewalService);
    const inGrace = new Date(failedAt.getTime() + 71 * HOUR);
    t.clock.set(inGrace);
    expect((await renewal.run(inGrace)).graceEnded).toBe(0);
    expect((await billing(accountId)).balances.MESSAGE).toMatchObject({ limit: 100, used: 30 });
    expect(await consume(accountId, 'MESSAGE', 5)).toBe(true);

    const graceOver = new Date(failedAt.getTime() + 72 * HOUR + 60_000);
    t.clock.set(graceOver);
    expect((await renewal.run(graceOver)).graceEnded).toBe(1);
    const fallback = await billing(accountId);
    expect(fallback.subscription).toMatchObject({ plan: { code: 'FREE' }, status: 'PAST_DUE' });
    expect(fallback.balances.MESSAGE).toMatchObject({ limit: 10, used: 35, remaining: 0 });
    expect(fallback.balances.INTEGRATION).toMatchObject({ limit: 100, used: 0, remaining: 100 });
    expect(fallback.balances.PROJECT).toMatchObject({ limit: 3 });
    expect(await consume(accountId, 'MESSAGE', 1)).toBe(false);
    expect(await consume(accountId, 'INTEGRATION', 101)).toBe(false);
    const withheld = await t.dataSource.query(
      `SELECT pool, sum(amount)::int AS amount FROM credit_transactions
        WHERE account_id = $1 AND kind = 'ADJUST' GROUP BY pool ORDER BY pool`,
      [accountId],
    );
    expect(withheld).toEqual([
      { pool: 'INTEGRATION', amount: -1900 },
      { pool: 'MESSAGE', amount: -65 },
    ]);

    // The renewal's invoice is paid at last: the plan is back for this period, usage so far still counting.
    subscription.status = 'active';
    await postWebhook(t, stripeEvent('invoice.paid', { ...renewalInvoice, status: 'paid', amount_paid: renewalInvoice.amount_due }));
    const restored = await billing(accountId);
    expect(restored.subscription).toMatchObject({ plan: { code: 'STARTER' }, status: 'ACTIVE' });
    expect(restored.balances.MESSAGE).toMatchObject({ limit: 100, used: 35, remaining: 65 });
    expect(restored.balances.INTEGRATION).toMatchObject({ limit: 2000, used: 0, remaining: 2000 });
    expect(await consume(accountId, 'MESSAGE', 65)).toBe(true);
    expect(await consume(accountId, 'MESSAGE', 1)).toBe(false);
    expect(await accountRow(accountId)).toMatchObject({ status: 'ACTIVE', plan_code: 'STARTER', past_due_since: null });
    await t.expectLedgerReconciles();
  });

  it('item 7: a Customer Portal cancellation (cancel_at = period end) is canceling, and no further paid period is granted', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    const periodEnd = subscription.items.data[0].current_period_end;
    // What the portal's "cancel at period end" does to a flexible billing mode subscription.
    Object.assign(stripe.subscriptions.get(subscription.id), { cancel_at: periodEnd, cancel_at_period_end: false });
    expect(subscription.billing_mode.type).toBe('flexible');
    await postWebhook(t, stripeEvent('customer.subscription.updated', stripe.subscriptions.get(subscription.id)));
    expect((await billing(accountId)).subscription).toMatchObject({ plan: { code: 'STARTER' }, cancelAtPeriodEnd: true });
    expect(await accountRow(accountId)).toMatchObject({ cancel_at_period_end: true });

    const after = new Date(periodEnd * 1000 + 1000);
    t.clock.set(after);
    await t.app.get(RenewalService).run(after);
    const renewed = await billing(accountId);
    expect(renewed.subscription.plan.code).toBe('FREE');
    expect(renewed.balances.MESSAGE).toMatchObject({ limit: 10, used: 0 });
    const next = (await allowanceGrants(accountId)).filter((grant: any) => grant.period_start.getTime() === periodEnd * 1000);
    expect(next.map((grant: any) => [grant.pool, grant.amount])).toEqual([
      ['INTEGRATION', 100],
      ['MESSAGE', 10],
    ]);
    await t.expectLedgerReconciles();
  });

  it('item 7: resuming a portal cancellation clears cancel_at in Stripe, and the next period is paid for', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    const periodEnd = subscription.items.data[0].current_period_end;
    Object.assign(stripe.subscriptions.get(subscription.id), { cancel_at: periodEnd, cancel_at_period_end: false });
    await postWebhook(t, stripeEvent('customer.subscription.updated', stripe.subscriptions.get(subscription.id)));

    const resumed = await t.gql(CHANGE_PLAN, { plan: 'STARTER' }, { as: accountId });
    expect(resumed.data!.changePlan.subscription).toMatchObject({ plan: { code: 'STARTER' }, cancelAtPeriodEnd: false });
    const [update] = subscriptionCalls(subscription.id).slice(-1);
    expect(update.params.cancel_at).toBe('');
    expect(stripe.subscriptions.get(subscription.id)).toMatchObject({ cancel_at: null, cancel_at_period_end: false });
    await postWebhook(t, stripeEvent('customer.subscription.updated', stripe.subscriptions.get(subscription.id)));
    expect((await billing(accountId)).subscription.cancelAtPeriodEnd).toBe(false);

    const after = new Date(periodEnd * 1000 + 1000);
    t.clock.set(after);
    await t.app.get(RenewalService).run(after);
    expect((await billing(accountId)).balances.MESSAGE).toMatchObject({ limit: 100, used: 0 });
    await t.expectLedgerReconciles();
  });

  it('item 6: a late delivery of an older invoice.paid does not make a past-due subscription active again', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    const paidBefore = periodInvoice(subscription, 'subscription_cycle');
    subscription.status = 'past_due';
    const now = Math.floor(Date.now() / 1000);
    await postWebhook(t, stripeEvent('invoice.payment_failed', periodInvoice(subscription, 'subscription_cycle', 'open'), { created: now + 10 }));
    await postWebhook(t, stripeEvent('customer.subscription.updated', subscription, { created: now + 11 }));
    const pastDue = await accountRow(accountId);
    expect(pastDue.status).toBe('PAST_DUE');
    // Stripe retries an earlier delivery of the invoice paid before the failure.
    expect((await postWebhook(t, stripeEvent('invoice.paid', paidBefore, { created: now - 600 }))).status).toBe(200);
    expect(await accountRow(accountId)).toMatchObject({ status: 'PAST_DUE', past_due_since: pastDue.past_due_since });
  });

  it('item 6: an allowance cut while a hold is pending takes the held credits when they come back', async () => {
    const accountId = newAccount();
    const subscription = await subscribe(accountId, 'STARTER');
    const credits = t.app.get(CreditsService);
    const hold = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 50 }]);
    const failedAt = new Date();
    t.clock.set(failedAt);
    subscription.status = 'past_due';
    await postWebhook(t, stripeEvent('invoice.payment_failed', periodInvoice(subscription, 'subscription_cycle', 'open')));
    await postWebhook(t, stripeEvent('customer.subscription.updated', subscription));
    const graceOver = new Date(failedAt.getTime() + 72 * HOUR + 60_000);
    t.clock.set(graceOver);
    await credits.keepHoldsAlive([hold.id]);
    expect((await t.app.get(RenewalService).run(graceOver)).graceEnded).toBeGreaterThanOrEqual(1);
    await credits.release(accountId, hold.id);
    expect((await billing(accountId)).subscription.plan.code).toBe('FREE');
    expect((await billing(accountId)).balances.MESSAGE).toMatchObject({ limit: 10, used: 0, remaining: 10 });
    expect(await consume(accountId, 'MESSAGE', 11)).toBe(false);
    expect(await consume(accountId, 'MESSAGE', 10)).toBe(true);
    await t.expectLedgerReconciles();
  });
});
