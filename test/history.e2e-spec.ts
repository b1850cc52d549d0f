import { Client } from 'pg';
import { Role } from '../src/auth/role.enum';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { startTestApp, TestApp } from './support/test-app';

const TRANSACTIONS = `query ($first: Int, $after: String, $accountId: ID) {
  creditTransactions(first: $first, after: $after, accountId: $accountId) {
    edges { cursor node { id kind creditType amount balanceAfter createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const USAGE = `query ($first: Int, $after: String) {
  creditUsage(first: $first, after: $after) {
    edges { cursor node { id creditType amount fromAllowance fromWallet } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('history (e2e): cursor pagination over the ledger', () => {
  let t: TestApp;
  const accountId = 'historian';

  beforeAll(async () => {
    t = await startTestApp();
    const credits = t.app.get(CreditsService);
    await credits.grant({ accountId, amount: 1000, kind: 'ADMIN', sourceKey: 'history-seed' });
    for (let i = 0; i < 40; i++) await credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 1 + (i % 3) });
  });
  afterAll(() => t.close());

  it('pages newest first without duplicates or gaps while new rows are being written', async () => {
    const [{ max }] = await t.dataSource.query(
      `SELECT max(id)::int AS max FROM credit_transactions WHERE account_id = $1`,
      [accountId],
    );
    const existing: number[] = (
      await t.dataSource.query(`SELECT id::int FROM credit_transactions WHERE account_id = $1 ORDER BY id DESC`, [accountId])
    ).map((row: { id: number }) => row.id);

    const seen: number[] = [];
    let after: string | null = null;
    let writer = 0;
    for (;;) {
      const res: any = await t.gql(TRANSACTIONS, { first: 7, after }, { as: accountId });
      expect(res.errors).toBeUndefined();
      const page = res.data.creditTransactions;
      seen.push(...page.edges.map((edge: any) => Number(edge.node.id)));
      // New rows arrive between pages.
      await t.app.get(CreditsService).consume(accountId, { type: CreditType.MESSAGE, amount: 1 }, { idempotencyKey: `w${writer++}` });
      if (!page.pageInfo.hasNextPage) break;
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1).cursor);
      after = page.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => id <= max)).toEqual(existing);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  it('pages usage records the same way', async () => {
    const first = await t.gql(USAGE, { first: 5 }, { as: accountId });
    const edges = first.data!.creditUsage.edges;
    expect(edges).toHaveLength(5);
    expect(first.data!.creditUsage.pageInfo.hasNextPage).toBe(true);
    const next = await t.gql(USAGE, { first: 5, after: first.data!.creditUsage.pageInfo.endCursor }, { as: accountId });
    const ids = [...edges, ...next.data!.creditUsage.edges].map((edge: any) => Number(edge.node.id));
    expect(new Set(ids).size).toBe(10);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });

  it.each([0, -1, 101])('refuses first = %i', async (first) => {
    const res = await t.gql(TRANSACTIONS, { first }, { as: accountId });
    expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a cursor it did not give out', async () => {
    for (const after of ['garbage', Buffer.from('v1:not-a-number').toString('base64url'), 'a'.repeat(500)]) {
      const res = await t.gql(TRANSACTIONS, { first: 5, after }, { as: accountId });
      expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    }
  });

  it("answers a user's own history only; admins may name an account", async () => {
    const own = await t.gql(TRANSACTIONS, { first: 5 }, { as: 'stranger' });
    expect(own.data!.creditTransactions.edges.every((edge: any) => edge.node.kind === 'GRANT')).toBe(true);
    const snooping = await t.gql(TRANSACTIONS, { first: 5, accountId }, { as: 'stranger' });
    expect(snooping.errors![0].extensions.code).toBe('FORBIDDEN');
    const admin = await t.gql(TRANSACTIONS, { first: 5, accountId }, { as: 'auditor', roles: [Role.ADMIN] });
    expect(admin.data!.creditTransactions.edges).toHaveLength(5);
    for (const query of ['creditUsage', 'creditPurchases']) {
      const res = await t.gql(`{ ${query}(accountId: "${accountId}") { edges { cursor } } }`, {}, { as: 'stranger' });
      expect(res.errors![0].extensions.code).toBe('FORBIDDEN');
    }
  });

  it('reads one page by touching about one page of rows, in a large account among many', async () => {
    // 200,000 rows for one account, interleaved with 200,000 rows of 1,000 others.
    await t.dataSource.query(
      `INSERT INTO credit_transactions (account_id, kind, pool, amount, balance_after, created_at)
       SELECT CASE WHEN n % 2 = 0 THEN 'big-account' ELSE 'other-' || (n % 1000) END, 'ADJUST', 'WALLET', 1, n, now()
         FROM generate_series(1, 400000) n`,
    );
    await t.dataSource.query('ANALYZE credit_transactions');
    const [{ max }] = await t.dataSource.query(`SELECT max(id) AS max FROM credit_transactions`);
    const [{ 'QUERY PLAN': plan }] = await t.dataSource.query(
      `EXPLAIN (ANALYZE, FORMAT JSON)
       SELECT * FROM credit_transactions WHERE account_id = 'big-account' AND id < $1 ORDER BY id DESC LIMIT 21`,
      [Number(max) - 100_000],
    );
    const nodes: any[] = [];
    const walk = (node: any) => {
      nodes.push(node);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan[0].Plan);
    expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    expect(nodes.map((node) => node['Node Type'])).not.toContain('Sort');
    const examined = nodes
      .filter((node) => /Scan/.test(node['Node Type']))
      .reduce((sum, node) => sum + node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0), 0);
    expect(examined).toBeLessThanOrEqual(50);
  });
  it.each(['credit_transactions', 'credit_usage'])(
    'pages %s of an account holding most of the table from its index, however many newer rows others wrote',
    async (table) => {
      // 60,000 rows of one account, then 20,000 newer rows of 1,000 others: a plan made for this account's share
      // of the table would walk the newest rows of the table, all of them someone else's.
      const columns =
        table === 'credit_transactions'
          ? `(account_id, kind, pool, amount, balance_after) SELECT $1, 'ADJUST', 'WALLET', 1, n`
          : `(account_id, credit_type, amount, from_allowance, from_wallet) SELECT $1, 'MESSAGE', 1, 1, 0`;
      await t.dataSource.query(`INSERT INTO ${table} ${columns} FROM generate_series(1, 60000) n`, [`giant-${table}`]);
      await t.dataSource.query(
        `INSERT INTO ${table} ${columns.replace('$1', `'neighbour-' || (n % 1000)`)} FROM generate_series(1, 20000) n`,
      );
      await t.dataSource.query(`ANALYZE ${table}`);

      // The plan the page function runs, as auto_explain reports it to this session.
      const client = new Client({ connectionString: t.databaseUrl });
      await client.connect();
      const plans: string[] = [];
      client.on('notice', (notice) => plans.push(notice.message ?? ''));
      try {
        await client.query(`LOAD 'auto_explain'`);
        await client.query(`SET auto_explain.log_min_duration = 0`);
        await client.query(`SET auto_explain.log_nested_statements = on`);
        await client.query(`SET auto_explain.log_analyze = on`);
        await client.query(`SET client_min_messages = log`);
        const { rows } = await client.query(`SELECT id FROM ${table}_page($1, $2, 21)`, [`giant-${table}`, '9223372036854775807']);
        expect(rows).toHaveLength(21);
        const inner = plans.find((plan) => plan.includes(`FROM ${table} WHERE`));
        expect(inner).toContain(`Index Scan using ${table}_account_idx`);
        expect(inner).not.toContain('Rows Removed by Filter');
      } finally {
        await client.end();
      }
    },
  );
});
