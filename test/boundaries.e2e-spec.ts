import { CreditsService } from '../src/credits/credits.service';
import { DatabaseClock } from '../src/database/database-clock';
import { GuardedTestModule } from './support/guarded-test.module';
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
      expect(await fast.app.get(CreditsService).releaseExpiredHolds()).toBe(0);
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
