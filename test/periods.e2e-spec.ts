import { OnEvent } from '@nestjs/event-emitter';
import { Injectable, Module } from '@nestjs/common';
import { RenewalService } from '../src/accounts/renewal.service';
import { RenewalScheduler } from '../src/accounts/renewal.scheduler';
import { AccountsService } from '../src/accounts/accounts.service';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { UsageAlertEvent } from '../src/credits/usage-alert.event';
import { inTransaction } from '../src/database/transaction';
import { PlanCode } from '../src/plans/plan-code.enum';
import { startTestApp, TestApp } from './support/test-app';

/** A listener in another module, as a host application would write one. */
@Injectable()
class AlertListener {
  static heard: UsageAlertEvent[] = [];

  @OnEvent(UsageAlertEvent.NAME)
  record(event: UsageAlertEvent): void {
    AlertListener.heard.push(event);
  }
}

@Module({ providers: [AlertListener] })
class AlertListenerModule {}

const OVERVIEW = `{
  billing {
    subscription { plan { code } currentPeriodStart currentPeriodEnd pendingPlan { code } }
    balances { creditType limit used held remaining level projectedExhaustionAt }
    warnings
    alerts { creditType threshold used limit reachedAt }
  }
}`;

describe('periods, renewal and alerts (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  let second: TestApp;
  let third: TestApp;
  let seq = 0;
  const newAccount = () => `period-${++seq}`;

  const create = async (accountId: string, at: string) => {
    t.clock.set(at);
    await t.app.get(AccountsService).ensure(accountId);
  };
  const account = async (accountId: string) =>
    (await t.dataSource.query(`SELECT * FROM accounts WHERE id = $1`, [accountId]))[0];
  const allowanceGrants = async (accountId: string) =>
    t.dataSource.query(
      `SELECT pool, period_start, amount::int, remaining::int FROM credit_grants
        WHERE account_id = $1 AND kind = 'ALLOWANCE' ORDER BY period_start, pool`,
      [accountId],
    );
  const consume = (app: TestApp, accountId: string, type: CreditType, amount: number) =>
    app.app.get(CreditsService).consume(accountId, { type, amount });

  beforeAll(async () => {
    t = await startTestApp({}, [AlertListenerModule]);
    second = await startTestApp({}, [AlertListenerModule], { sameDatabaseAs: t });
    third = await startTestApp({}, [], { sameDatabaseAs: t });
  });
  afterEach(() => t.expectLedgerReconciles());
  afterAll(async () => {
    await third.close();
    await second.close();
    await t.close();
  });

  it('follows a Jan 31 anchor to Feb 28, then Mar 31 (and Feb 29 in a leap year)', async () => {
    const accountId = newAccount();
    await create(accountId, '2027-01-31T10:00:00.000Z');
    const renewal = t.app.get(RenewalService);
    await renewal.run(new Date('2027-02-28T10:00:00.500Z'));
    expect((await account(accountId)).current_period_start.toISOString()).toBe('2027-02-28T10:00:00.000Z');
    expect((await account(accountId)).current_period_end.toISOString()).toBe('2027-03-31T10:00:00.000Z');
    await renewal.run(new Date('2027-03-31T10:00:01.000Z'));
    expect((await account(accountId)).current_period_end.toISOString()).toBe('2027-04-30T10:00:00.000Z');

    const leap = newAccount();
    await create(leap, '2028-01-31T00:00:00.000Z');
    await renewal.run(new Date('2028-02-29T00:00:00.000Z'));
    expect((await account(leap)).current_period_start.toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('catches up after three missed months without granting the missed periods', async () => {
    const accountId = newAccount();
    await create(accountId, '2027-05-10T12:00:00.000Z');
    await consume(t, accountId, CreditType.MESSAGE, 4);
    const report = await t.app.get(RenewalService).run(new Date('2027-08-15T00:00:00.000Z'));
    expect(report.renewed).toBeGreaterThanOrEqual(1);
    const row = await account(accountId);
    expect(row.current_period_start.toISOString()).toBe('2027-08-10T12:00:00.000Z');
    const grants = await allowanceGrants(accountId);
    expect(grants.map((g: any) => [g.pool, g.period_start.toISOString(), g.remaining])).toEqual([
      ['INTEGRATION', '2027-05-10T12:00:00.000Z', 0],
      ['MESSAGE', '2027-05-10T12:00:00.000Z', 0],
      ['INTEGRATION', '2027-08-10T12:00:00.000Z', 100],
      ['MESSAGE', '2027-08-10T12:00:00.000Z', 10],
    ]);
    const expired = await t.dataSource.query(
      `SELECT pool, amount::int FROM credit_transactions WHERE account_id = $1 AND kind = 'EXPIRE' ORDER BY pool`,
      [accountId],
    );
    expect(expired).toEqual([
      { pool: 'INTEGRATION', amount: -100 },
      { pool: 'MESSAGE', amount: -6 },
    ]);
    // A second run at the same moment finds nothing to do.
    await t.app.get(RenewalService).run(new Date('2027-08-15T00:00:00.000Z'));
    expect(await allowanceGrants(accountId)).toHaveLength(4);
  });

  it('never touches wallet credits at renewal', async () => {
    const accountId = newAccount();
    await create(accountId, '2027-09-01T00:00:00.000Z');
    await t.app.get(CreditsService).grant({ accountId, amount: 50, kind: 'PURCHASE', sourceKey: `w-${accountId}` });
    await t.app.get(RenewalService).run(new Date('2027-10-02T00:00:00.000Z'));
    const [wallet] = await t.dataSource.query(
      `SELECT balance::int FROM credit_balances WHERE account_id = $1 AND pool = 'WALLET'`,
      [accountId],
    );
    expect(wallet.balance).toBe(50);
  });

  it.each([2, 3])('grants once per account, type and period when %i instances renew at the same moment', async (instances) => {
    const accounts = Array.from({ length: 30 }, () => newAccount());
    t.clock.set('2029-01-15T00:00:00.000Z');
    for (const id of accounts) await t.app.get(AccountsService).ensure(id);
    const at = new Date('2029-02-16T00:00:00.000Z');
    const apps = [t, second, third].slice(0, instances);
    const reports = await Promise.all(apps.map((app) => app.app.get(RenewalService).run(at)));
    const renewedByMe = reports.reduce((sum, report) => sum + report.renewed, 0);
    expect(renewedByMe).toBeGreaterThanOrEqual(30);
    const grants = await t.dataSource.query(
      `SELECT account_id, pool, count(*)::int AS n FROM credit_grants
        WHERE account_id = ANY($1) AND kind = 'ALLOWANCE' AND period_start = '2029-02-15T00:00:00Z'
        GROUP BY account_id, pool`,
      [accounts],
    );
    expect(grants).toHaveLength(60);
    expect(grants.every((row: any) => row.n === 1)).toBe(true);
  });

  it('renews hundreds of due accounts in claimed batches, two instances at once, each account once', async () => {
    const accounts = Array.from({ length: 260 }, () => newAccount());
    t.clock.set('2030-03-10T00:00:00.000Z');
    for (const id of accounts) await t.app.get(AccountsService).ensure(id);
    // Some accounts used part of their allowance, some bought credits: only the allowance moves.
    for (const id of accounts.slice(0, 40)) await consume(t, id, CreditType.MESSAGE, 3);
    for (const id of accounts.slice(40, 60)) {
      await t.app.get(CreditsService).grant({ accountId: id, amount: 25, kind: 'PURCHASE', sourceKey: `renew-many-${id}` });
    }
    const at = new Date('2030-04-12T00:00:00.000Z');
    const reports = await Promise.all([t, second].map((app) => app.app.get(RenewalService).run(at)));
    expect(reports.reduce((sum, report) => sum + report.renewed, 0)).toBeGreaterThanOrEqual(accounts.length);

    const periods = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM accounts
        WHERE id = ANY($1) AND current_period_start = '2030-04-10T00:00:00Z' AND current_period_end = '2030-05-10T00:00:00Z'`,
      [accounts],
    );
    expect(periods[0].n).toBe(accounts.length);
    const grants = await t.dataSource.query(
      `SELECT pool, count(*)::int AS grants, count(DISTINCT account_id)::int AS accounts, min(remaining)::int AS min,
              max(remaining)::int AS max
         FROM credit_grants
        WHERE account_id = ANY($1) AND kind = 'ALLOWANCE' AND period_start = '2030-04-10T00:00:00Z'
        GROUP BY pool ORDER BY pool`,
      [accounts],
    );
    expect(grants).toEqual([
      { pool: 'INTEGRATION', grants: accounts.length, accounts: accounts.length, min: 100, max: 100 },
      { pool: 'MESSAGE', grants: accounts.length, accounts: accounts.length, min: 10, max: 10 },
    ]);
    const left = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM credit_grants
        WHERE account_id = ANY($1) AND kind = 'ALLOWANCE' AND period_start = '2030-03-10T00:00:00Z' AND remaining > 0`,
      [accounts],
    );
    expect(left[0].n).toBe(0);
    const wallets = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM credit_balances WHERE account_id = ANY($1) AND pool = 'WALLET' AND balance = 25`,
      [accounts],
    );
    expect(wallets[0].n).toBe(20);
    // Both instances again at the same moment: nothing is left to renew.
    const again = await Promise.all([t, second].map((app) => app.app.get(RenewalService).run(at)));
    expect(again.map((report) => report.renewed)).toEqual([0, 0]);
  });

  it('counts charges racing the renewal in exactly one period, losing none', async () => {
    const accountId = newAccount();
    await create(accountId, '2030-03-01T00:00:00.000Z');
    await consume(t, accountId, CreditType.INTEGRATION, 30);
    const boundary = new Date('2030-04-01T00:00:00.000Z');
    for (const app of [t, second, third]) app.clock.set(new Date(boundary.getTime() + 1));
    const charges = Array.from({ length: 24 }, (_, i) =>
      consume([t, second, third][i % 3], accountId, CreditType.INTEGRATION, 1),
    );
    const renewals = [t, second, third].map((app) => app.app.get(RenewalService).run(new Date(boundary.getTime() + 1)));
    const outcomes = await Promise.all(charges);
    await Promise.all(renewals);
    expect(outcomes.every((outcome) => outcome.allowed)).toBe(true);
    const rows = await t.dataSource.query(
      `SELECT g.period_start, sum(-t.amount)::int AS charged FROM credit_transactions t
         JOIN credit_grants g ON g.id = t.grant_id
        WHERE t.account_id = $1 AND t.kind = 'CONSUME' GROUP BY g.period_start ORDER BY g.period_start`,
      [accountId],
    );
    expect(rows.map((row: any) => [row.period_start.toISOString(), row.charged])).toEqual([
      ['2030-03-01T00:00:00.000Z', 30],
      ['2030-04-01T00:00:00.000Z', 24],
    ]);
    const [usage] = await t.dataSource.query(
      `SELECT count(*)::int AS n, sum(amount)::int AS total FROM credit_usage WHERE account_id = $1`,
      [accountId],
    );
    expect(usage).toEqual({ n: 25, total: 54 });
    const grants = await allowanceGrants(accountId);
    expect(grants.filter((g: any) => g.period_start.toISOString() === '2030-04-01T00:00:00.000Z')).toEqual([
      expect.objectContaining({ pool: 'INTEGRATION', amount: 100, remaining: 76 }),
      expect.objectContaining({ pool: 'MESSAGE', amount: 10, remaining: 10 }),
    ]);
    for (const app of [t, second, third]) app.clock.set(new Date());
  });

  describe('plan changes', () => {
    const setPlan = (accountId: string, plan: PlanCode) =>
      inTransaction(t.dataSource, async (manager) => {
        const accounts = t.app.get(AccountsService);
        const row = (await accounts.lock(manager, accountId))!;
        await accounts.upgradeNow(manager, row, plan, t.clock.now());
      });

    it('raises the limit at once on an upgrade, counting the usage so far', async () => {
      const accountId = newAccount();
      await create(accountId, '2031-01-05T00:00:00.000Z');
      await consume(t, accountId, CreditType.MESSAGE, 9);
      await setPlan(accountId, PlanCode.BUILDER);
      const res = await t.gql(OVERVIEW, {}, { as: accountId });
      expect(res.data!.billing.balances[0]).toMatchObject({ limit: 250, used: 9, remaining: 241, level: 'OK' });
      expect((await consume(t, accountId, CreditType.MESSAGE, 200)).allowed).toBe(true);
    });

    it('applies a downgrade at renewal; projects above the new limit stay but block creation', async () => {
      const accountId = newAccount();
      await create(accountId, '2031-02-01T00:00:00.000Z');
      await setPlan(accountId, PlanCode.STARTER);
      for (let i = 0; i < 5; i++) {
        const res = await t.gql(`mutation { createProject(name: "p${i}") { id } }`, {}, { as: accountId });
        expect(res.errors).toBeUndefined();
      }
      await t.dataSource.query(`UPDATE accounts SET pending_plan_code = 'FREE' WHERE id = $1`, [accountId]);
      expect((await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing.subscription).toMatchObject({
        plan: { code: 'STARTER' },
        pendingPlan: { code: 'FREE' },
      });
      t.clock.set('2031-03-01T00:00:01.000Z');
      await t.app.get(RenewalService).run();
      const res = await t.gql(OVERVIEW, {}, { as: accountId });
      expect(res.data!.billing.subscription).toMatchObject({ plan: { code: 'FREE' }, pendingPlan: null });
      const project = res.data!.billing.balances.find((b: any) => b.creditType === 'PROJECT');
      expect(project).toMatchObject({ limit: 3, used: 5, remaining: 0, level: 'EXHAUSTED' });
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM projects WHERE account_id = $1`, [accountId]);
      expect(n).toBe(5);
      const refused = await t.gql(`mutation { createProject(name: "sixth") { id } }`, {}, { as: accountId });
      expect(refused.errors![0].extensions.code).toBe('QUOTA_EXCEEDED');
      const ids = (await t.gql(`{ projects { id } }`, {}, { as: accountId })).data!.projects.map((p: any) => p.id);
      for (const id of ids.slice(0, 3)) await t.gql(`mutation ($id: ID!) { deleteProject(id: $id) }`, { id }, { as: accountId });
      const allowed = await t.gql(`mutation { createProject(name: "under the limit") { id } }`, {}, { as: accountId });
      expect(allowed.errors).toBeUndefined();
      t.clock.set(new Date());
    });

    it('renews an account used after its period ended on the spot, even without the cron', async () => {
      const accountId = newAccount();
      await create(accountId, '2031-05-01T00:00:00.000Z');
      await consume(t, accountId, CreditType.MESSAGE, 10);
      t.clock.set('2031-06-01T00:00:05.000Z');
      const res = await t.gql(`mutation { consumeCredits(input: { creditType: MESSAGE, amount: 1, idempotencyKey: "late" }) { allowed remaining } }`, {}, { as: accountId });
      expect(res.data!.consumeCredits).toEqual({ allowed: true, remaining: 9 });
      t.clock.set(new Date());
    });
  });

  describe('usage alerts', () => {
    it('records each threshold once when 50 concurrent charges cross 80 % and 100 %, and publishes it once', async () => {
      const accountId = newAccount();
      await create(accountId, new Date().toISOString());
      await consume(t, accountId, CreditType.INTEGRATION, 75);
      AlertListener.heard = [];
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => consume([t, second][i % 2], accountId, CreditType.INTEGRATION, 1)),
      );
      expect(outcomes.filter((outcome) => outcome.allowed)).toHaveLength(25);
      const alerts = await t.dataSource.query(
        `SELECT credit_type, threshold, used::int FROM usage_alerts WHERE account_id = $1 ORDER BY threshold`,
        [accountId],
      );
      // `used` is what was used when the alert was recorded: at least the threshold (charges settled together may
      // cross both at once).
      expect(alerts.map((alert: any) => [alert.credit_type, alert.threshold])).toEqual([
        ['INTEGRATION', 80],
        ['INTEGRATION', 100],
      ]);
      expect(alerts[0].used).toBeGreaterThanOrEqual(80);
      expect(alerts[1].used).toBe(100);
      // Each instance publishes on its own event bus; both run the listener, and together they heard each alert once.
      const heard = AlertListener.heard.filter((event) => event.accountId === accountId).map((event) => event.threshold);
      expect(heard.sort()).toEqual([100, 80]);
      const overview = await t.gql(OVERVIEW, {}, { as: accountId });
      expect(overview.data!.billing.alerts.map((a: any) => [a.creditType, a.threshold])).toEqual([
        ['INTEGRATION', 80],
        ['INTEGRATION', 100],
      ]);
      expect(overview.data!.billing.warnings).toEqual(
        expect.arrayContaining([expect.stringMatching(/used all 100 integration credits/)]),
      );
    });

    it('publishes an alert to listeners of the application', async () => {
      const accountId = newAccount();
      await create(accountId, new Date().toISOString());
      AlertListener.heard = [];
      await consume(t, accountId, CreditType.MESSAGE, 8);
      expect(AlertListener.heard).toEqual([
        expect.objectContaining({ accountId, creditType: 'MESSAGE', threshold: 80, used: 8, limit: 10 }),
      ]);
      await consume(t, accountId, CreditType.MESSAGE, 1);
      expect(AlertListener.heard).toHaveLength(1);
    });

    it('projects when the allowance runs out at the current pace', async () => {
      const accountId = newAccount();
      await create(accountId, '2032-01-01T00:00:00.000Z');
      t.clock.set('2032-01-05T00:00:00.000Z');
      await consume(t, accountId, CreditType.INTEGRATION, 40);
      const res = await t.gql(OVERVIEW, {}, { as: accountId });
      const integration = res.data!.billing.balances.find((b: any) => b.creditType === 'INTEGRATION');
      expect(integration.projectedExhaustionAt).toBe('2032-01-11T00:00:00.000Z');
      expect(res.data!.billing.balances.find((b: any) => b.creditType === 'MESSAGE').projectedExhaustionAt).toBeNull();
      t.clock.set(new Date());
    });
  });

  it('runs the scheduled job body on demand and skips overlapping ticks', async () => {
    const scheduler = t.app.get(RenewalScheduler);
    const accountId = newAccount();
    await create(accountId, '2033-01-01T00:00:00.000Z');
    t.clock.set('2033-02-01T00:00:01.000Z');
    await Promise.all([scheduler.tick(), scheduler.tick()]);
    expect((await account(accountId)).current_period_start.toISOString()).toBe('2033-02-01T00:00:00.000Z');
    t.clock.set(new Date());
  });
});
