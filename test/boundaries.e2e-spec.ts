import { RenewalService } from '../src/accounts/renewal.service';
import { AccountsService } from '../src/accounts/accounts.service';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { DatabaseClock } from '../src/database/database-clock';
import { deadlocksCounted } from './support/boundary';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { GuardedTestModule } from './support/guarded-test.module';
import { periodInvoice, postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { startTestApp, TestApp } from './support/test-app';

const CREATE_PROJECT = `mutation ($name: String!) { createProject(name: $name) { id createdAt } }`;
const OVERVIEW = `{ billing { balances { creditType limit used held remaining } } }`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where periods meet Stripe, a second instance or a second clock. */
describe('periods, instances and clocks (e2e)', () => {
  let t: TestApp;
  let seq = 0;
  const newAccount = () => `boundary-${++seq}`;

  beforeAll(async () => {
    t = await startTestApp({}, [GuardedTestModule]);
  });
  afterEach(() => t.expectLedgerReconciles());
  afterAll(() => t.close());

  describe('item 3: no deadlock when many charges meet a renewal', () => {
    let second: TestApp;
    beforeAll(async () => {
      second = await startTestApp({}, [], { sameDatabaseAs: t });
    });
    afterAll(() => second.close());

    const deadlocks = () => deadlocksCounted((sql, parameters) => t.dataSource.query(sql, parameters));

    it('lets a charge write its ledger rows while a renewal holds the account, instead of deadlocking', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const before = await deadlocks();
      // A renewal's transaction: the account row first, the pools after.
      const runner = t.dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        await t.app.get(AccountsService).lock(runner.manager, accountId);
        // Meanwhile a charge locks the pools and crosses 80 %: the usage alert it records has a foreign key to the
        // account row.
        const charge = second.gql(
          `mutation { consumeCredits(input: { creditType: INTEGRATION, amount: 85, idempotencyKey: "meets-renewal" }) { allowed } }`,
          {},
          { as: accountId },
        );
        await sleep(300);
        await runner.query(`SELECT credits_lock_pools($1, ARRAY['INTEGRATION', 'MESSAGE'])`, [accountId]);
        await runner.commitTransaction();
        expect((await charge).data).toEqual({ consumeCredits: { allowed: true } });
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
      await sleep(1_200);
      expect(await deadlocks()).toBe(before);
    });

    it('answers every charge normally on two instances while the period ends under them', async () => {
      const before = await deadlocks();
      for (let round = 0; round < 6; round++) {
        const accountIds = Array.from({ length: 2 }, () => newAccount());
        for (const accountId of accountIds) {
          // 70 of 100 used: the charges below cross 80 % and 100 %, and record usage alerts as they do.
          const spent = await t.gql(
            `mutation { consumeCredits(input: { creditType: INTEGRATION, amount: 70, idempotencyKey: "before" }) { allowed } }`,
            {},
            { as: accountId },
          );
          expect(spent.errors).toBeUndefined();
        }
        // Every account's period has just ended: the first charges renew it, the others meet that renewal.
        await t.dataSource.query(
          `UPDATE accounts SET period_anchor = period_anchor - interval '1 month',
                  current_period_start = current_period_start - interval '1 month',
                  current_period_end = clock_timestamp() - interval '1 second'
            WHERE id = ANY ($1)`,
          [accountIds],
        );
        const answers = await Promise.all(
          Array.from({ length: 60 }, async (_, i) => {
            const app = i % 2 === 0 ? t : second;
            const accountId = accountIds[i % accountIds.length];
            return app.gql(
              `mutation ($key: String!) { consumeCredits(input: { creditType: INTEGRATION, amount: 1, idempotencyKey: $key }) { allowed } }`,
              { key: `boundary-${round}-${i}` },
              { as: accountId },
            );
          }),
        );
        for (const answer of answers) {
          expect(answer.errors).toBeUndefined();
          expect(answer.data).toEqual({ consumeCredits: { allowed: true } });
        }
      }
      await sleep(1_200);
      expect(await deadlocks()).toBe(before);
    });
  });

  it('item 5: the new period’s overview counts only its own holds', async () => {
    const accountId = newAccount();
    const balanceOf = async (type: string) =>
      (await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing.balances.find((b: any) => b.creditType === type);
    await t.gql(OVERVIEW, {}, { as: accountId });
    const credits = t.app.get(CreditsService);
    const hold = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 6 }]);
    expect(await balanceOf('MESSAGE')).toMatchObject({ used: 0, held: 6, remaining: 4 });
    const [{ end }] = await t.dataSource.query(`SELECT current_period_end AS end FROM accounts WHERE id = $1`, [accountId]);
    try {
      t.clock.set(new Date(new Date(end).getTime() + 1_000));
      // Its request is still running: its instance keeps the hold alive.
      await credits.keepHoldsAlive([hold.id]);
      await t.app.get(RenewalService).run();
      // The hold is the old period's: all of the new allowance is spendable.
      expect(await balanceOf('MESSAGE')).toMatchObject({ limit: 10, used: 0, held: 0, remaining: 10 });
      await credits.capture(accountId, hold.id);
      expect(await balanceOf('MESSAGE')).toMatchObject({ limit: 10, used: 0, held: 0, remaining: 10 });
    } finally {
      t.clock.set(new Date());
    }
  });

  describe('items 1 and 2: periods follow Stripe', () => {
    let s: TestApp;
    let stripe: LocalStripeServer;
    beforeAll(async () => {
      ({ t: s, stripe } = await startStripeTestApp());
    });
    afterEach(async () => {
      expect(stripe.rejected).toEqual([]);
      await s.expectLedgerReconciles();
      s.clock.set(new Date());
    });
    afterAll(async () => {
      await s.close();
      await stripe.stop();
    });

    const DAY = 86_400_000;
    const allowanceGrants = (accountId: string, pool: string) =>
      s.dataSource.query(
        `SELECT period_start, amount::int FROM credit_grants
          WHERE account_id = $1 AND kind = 'ALLOWANCE' AND pool = $2 ORDER BY period_start`,
        [accountId, pool],
      );
    const subscribe = async (accountId: string, plan: string, start: Date, end: Date, billingCycleAnchor?: Date) => {
      await s.gql(`mutation { changePlan(plan: ${plan}) { checkoutUrl } }`, {}, { as: accountId });
      const [checkout] = stripe.calls('POST', /^\/v1\/checkout\/sessions$/).slice(-1);
      const price = [...stripe.prices.values()].find((candidate) => candidate.lookup_key === `plan_${plan.toLowerCase()}_monthly`);
      const subscription = stripe.createSubscription({ customer: checkout.params.customer, price, accountId, start, end, billingCycleAnchor });
      expect((await postWebhook(s, stripeEvent('customer.subscription.created', subscription))).status).toBe(200);
      expect((await postWebhook(s, stripeEvent('invoice.paid', periodInvoice(subscription, 'subscription_create')))).status).toBe(200);
      return subscription;
    };

    it('item 1: a 45-day first period is followed by one starting at its end; the cron and invoice.paid grant it once', async () => {
      const accountId = newAccount();
      const start = new Date(Date.now() - DAY);
      const trialEnd = new Date(start.getTime() + 45 * DAY);
      const subscription = await subscribe(accountId, 'PRO', start, trialEnd, trialEnd);
      const nextEnd = new Date(trialEnd);
      nextEnd.setUTCMonth(nextEnd.getUTCMonth() + 1);

      s.clock.set(new Date(trialEnd.getTime() + 1_000));
      await s.app.get(RenewalService).run();
      const [account] = await s.dataSource.query(
        `SELECT current_period_start AS start, current_period_end AS end FROM accounts WHERE id = $1`,
        [accountId],
      );
      expect(new Date(account.start).getTime()).toBe(Math.floor(trialEnd.getTime() / 1000) * 1000);
      expect(new Date(account.end).getTime()).toBe(Math.floor(nextEnd.getTime() / 1000) * 1000);

      // Stripe's invoice for the same period, an hour later, grants nothing more.
      s.clock.set(new Date(trialEnd.getTime() + 3_600_000));
      const item = subscription.items.data[0];
      item.current_period_start = Math.floor(trialEnd.getTime() / 1000);
      item.current_period_end = Math.floor(nextEnd.getTime() / 1000);
      expect((await postWebhook(s, stripeEvent('invoice.paid', periodInvoice(subscription, 'subscription_cycle')))).status).toBe(200);
      expect((await postWebhook(s, stripeEvent('customer.subscription.updated', subscription))).status).toBe(200);
      // The FREE allowance of the days before the subscription, then one PRO allowance per paid period.
      const grants = (await allowanceGrants(accountId, 'MESSAGE')).filter((grant: any) => grant.amount === 500);
      expect(grants.map((grant: any) => [new Date(grant.period_start).getTime(), grant.amount])).toEqual([
        [Math.floor(start.getTime() / 1000) * 1000, 500],
        [Math.floor(trialEnd.getTime() / 1000) * 1000, 500],
      ]);
      const overview = await s.gql(OVERVIEW, {}, { as: accountId });
      expect(overview.data!.billing.balances.find((b: any) => b.creditType === 'MESSAGE')).toMatchObject({ limit: 500, used: 0 });
    });

    it('item 2: a deletion after the boundary moved the account to FREE starts no other FREE period', async () => {
      const accountId = newAccount();
      const start = new Date(Date.now() - 10 * DAY);
      const end = new Date(start);
      end.setUTCMonth(end.getUTCMonth() + 1);
      const subscription = await subscribe(accountId, 'STARTER', start, end);
      subscription.cancel_at = Math.floor(end.getTime() / 1000);
      expect((await postWebhook(s, stripeEvent('customer.subscription.updated', subscription))).status).toBe(200);

      // The boundary: the renewal moves the account to FREE, whose 10 credits are then used.
      s.clock.set(new Date(end.getTime() + 1_000));
      await s.app.get(RenewalService).run();
      const spend = await s.gql(
        `mutation { consumeCredits(input: { creditType: MESSAGE, amount: 10, idempotencyKey: "all" }) { allowed } }`,
        {},
        { as: accountId },
      );
      expect(spend.data).toEqual({ consumeCredits: { allowed: true } });
      const [before] = await s.dataSource.query(`SELECT * FROM accounts WHERE id = $1`, [accountId]);
      expect(before.plan_code).toBe('FREE');
      const grantsBefore = await allowanceGrants(accountId, 'MESSAGE');

      // Five minutes later Stripe says the subscription is deleted.
      s.clock.set(new Date(end.getTime() + 300_000));
      subscription.status = 'canceled';
      subscription.ended_at = Math.floor(end.getTime() / 1000);
      expect((await postWebhook(s, stripeEvent('customer.subscription.deleted', subscription))).status).toBe(200);
      const [after] = await s.dataSource.query(`SELECT * FROM accounts WHERE id = $1`, [accountId]);
      expect(after).toMatchObject({
        plan_code: 'FREE',
        stripe_subscription_id: null,
        current_period_start: before.current_period_start,
        current_period_end: before.current_period_end,
      });
      expect(await allowanceGrants(accountId, 'MESSAGE')).toEqual(grantsBefore);
      const overview = await s.gql(OVERVIEW, {}, { as: accountId });
      expect(overview.data!.billing.balances.find((b: any) => b.creditType === 'MESSAGE')).toMatchObject({ limit: 10, used: 10 });
    });
  });

  it('item 6: moving the service’s clock moves the host’s rows and their charges alike', async () => {
    const accountId = newAccount();
    const later = new Date(Date.now() + 40 * 86_400_000);
    try {
      t.clock.set(later);
      const res = await t.gql(CREATE_PROJECT, { name: 'in the future' }, { as: accountId });
      expect(res.errors).toBeUndefined();
      expect(new Date(res.data!.createProject.createdAt).getTime()).toBe(later.getTime());
      const [usage] = await t.dataSource.query(`SELECT created_at FROM credit_usage WHERE account_id = $1`, [accountId]);
      expect(new Date(usage.created_at).getTime()).toBe(later.getTime());
    } finally {
      t.clock.set(new Date());
    }
  });

  describe('item 4: one clock for every instance', () => {
    /** An instance on the same database whose host clock runs 5.5 minutes ahead. */
    let fast: TestApp;
    const skew = 330_000;
    beforeAll(async () => {
      fast = await startTestApp({}, [GuardedTestModule], { sameDatabaseAs: t, hostClockSkewMs: skew });
    });
    afterAll(() => fast.close());

    it('follows the database clock, however far off its host clock is', async () => {
      expect(Math.abs((await fast.app.get(DatabaseClock).sync()) + skew)).toBeLessThan(1_000);
      const [{ now }] = await fast.dataSource.query('SELECT clock_timestamp() AS now');
      expect(Math.abs(fast.clock.now().getTime() - new Date(now).getTime())).toBeLessThan(1_000);
    });

    it('never sweeps a hold another instance’s request is still using', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const answer = t.gql('mutation { slowMessage(ms: 800) }', {}, { as: accountId });
      await sleep(300);
      expect(await fast.app.get(CreditsService).expireHolds()).toBe(0);
      expect((await answer).data).toEqual({ slowMessage: true });
      const [usage] = await t.dataSource.query(`SELECT hold_id FROM credit_usage WHERE account_id = $1`, [accountId]);
      expect(usage.hold_id).not.toBeNull();
    });

    it('stamps the ledger with the time the database stamps the host’s own rows with', async () => {
      const accountId = newAccount();
      const res = await fast.gql(CREATE_PROJECT, { name: 'skewed' }, { as: accountId });
      expect(res.errors).toBeUndefined();
      const [{ project, charged }] = await t.dataSource.query(
        `SELECT (SELECT created_at FROM projects WHERE account_id = $1) AS project,
                (SELECT max(created_at) FROM credit_usage WHERE account_id = $1) AS charged`,
        [accountId],
      );
      expect(Math.abs(new Date(project).getTime() - new Date(charged).getTime())).toBeLessThan(1_000);
    });
  });
});
