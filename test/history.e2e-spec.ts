import { Client } from 'pg';
import { AccountsService } from '../src/accounts/accounts.service';
import { AccountEntity } from '../src/accounts/entities/account.entity';
import { Role } from '../src/auth/role.enum';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { inTransaction } from '../src/database/transaction';
import { PlanCode } from '../src/plans/plan-code.enum';
import { KeptAllocations1795258801700 } from '../migrations/1795258801700-KeptAllocations';
import { GuardedTestModule } from './support/guarded-test.module';
import { startTestApp, TestApp } from './support/test-app';

const TRANSACTIONS = `query ($first: Int, $after: String, $accountId: ID) {
  creditTransactions(first: $first, after: $after, accountId: $accountId) {
    edges { cursor node { id kind creditType amount balanceAfter createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const HISTORY = `query ($first: Int, $after: String) {
  creditTransactions(first: $first, after: $after) {
    edges { node { kind creditType amount balanceAfter description } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const CREATE_PROJECT = `mutation ($name: String!) { createProject(name: $name) { id } }`;
const DELETE_PROJECT = `mutation ($id: ID!) { deleteProject(id: $id) }`;
const SEND_CHAT = `mutation ($projectId: ID!, $text: String!) { sendChatMessage(projectId: $projectId, text: $text) { id } }`;
const OVERVIEW = `{ billing { balances { creditType used held remaining } wallet { balance } } }`;
const USAGE = `query ($first: Int, $after: String) {
  creditUsage(first: $first, after: $after) {
    edges { cursor node { id creditType amount fromAllowance fromWallet } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const PURCHASES = `query ($first: Int, $after: String) {
  creditPurchases(first: $first, after: $after) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const PROJECTS_PAGE = `query ($first: Int, $after: String) {
  projectsConnection(first: $first, after: $after) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('history (e2e): cursor pagination over the ledger', () => {
  let t: TestApp;
  const accountId = 'historian';

  beforeAll(async () => {
    t = await startTestApp({}, [GuardedTestModule]);
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
      // Nothing comes before the first page; the rows of the pages already read come before every later one.
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
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
    expect(first.data!.creditUsage.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: edges[0].cursor,
      endCursor: edges[4].cursor,
    });
    const next = await t.gql(USAGE, { first: 5, after: first.data!.creditUsage.pageInfo.endCursor }, { as: accountId });
    const ids = [...edges, ...next.data!.creditUsage.edges].map((edge: any) => Number(edge.node.id));
    expect(new Set(ids).size).toBe(10);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(next.data!.creditUsage.pageInfo).toMatchObject({
      hasPreviousPage: true,
      startCursor: next.data!.creditUsage.edges[0].cursor,
    });
  });

  it('pages purchases newest first with every status, and says what comes before and after each page', async () => {
    const buyer = 'purchase-pager';
    await t.gql('{ billing { accountId } }', {}, { as: buyer });
    const statuses = ['COMPLETED', 'FAILED', 'PENDING', 'REFUNDED', 'COMPLETED'];
    const ids: string[] = [];
    for (const [i, status] of statuses.entries()) {
      const [{ id }] = await t.dataSource.query(
        `INSERT INTO credit_purchases (id, account_id, package_id, credits, amount_cents, currency, status, created_at)
         VALUES (gen_random_uuid(), $1, 'starter', 100, 500, 'usd', $2, $3) RETURNING id`,
        [buyer, status, new Date(Date.UTC(2030, 0, 1, 0, 0, i))],
      );
      ids.push(id);
    }
    const pages: any[] = [];
    let after: string | null = null;
    do {
      const res: any = await t.gql(PURCHASES, { first: 2, after }, { as: buyer });
      expect(res.errors).toBeUndefined();
      pages.push(res.data.creditPurchases);
      after = res.data.creditPurchases.pageInfo.endCursor;
    } while (pages.at(-1).pageInfo.hasNextPage);

    expect(pages.flatMap((page) => page.edges.map((edge: any) => edge.node))).toEqual(
      ids.map((id, i) => ({ id, status: statuses[i] })).reverse(),
    );
    expect(pages.map((page) => page.pageInfo)).toEqual(
      pages.map((page, i) => ({
        hasNextPage: i < pages.length - 1,
        hasPreviousPage: i > 0,
        startCursor: page.edges[0].cursor,
        endCursor: page.edges.at(-1).cursor,
      })),
    );
    expect(pages.map((page) => page.edges.length)).toEqual([2, 2, 1]);

    // After the oldest: an empty page, with everything before it.
    const end = await t.gql(PURCHASES, { first: 2, after: pages[2].pageInfo.endCursor }, { as: buyer });
    expect(end.data!.creditPurchases).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
    });

    // After a place newer than all of them (another account's later purchase): the first page, nothing before it.
    await t.gql('{ billing { accountId } }', {}, { as: 'later-buyer' });
    await t.dataSource.query(
      `INSERT INTO credit_purchases (id, account_id, package_id, credits, amount_cents, currency, status, created_at)
       VALUES (gen_random_uuid(), 'later-buyer', 'starter', 100, 500, 'usd', 'PENDING', '2031-01-01T00:00:00Z')`,
    );
    const later = (await t.gql(PURCHASES, { first: 1 }, { as: 'later-buyer' })).data!.creditPurchases.edges[0].cursor;
    const fromLater = await t.gql(PURCHASES, { first: 2, after: later }, { as: buyer });
    expect(fromLater.data!.creditPurchases).toEqual(pages[0]);
  });

  it('pages projects oldest first as `projects` lists them; a cursor whose project was deleted still holds its place', async () => {
    const owner = 'project-pager';
    const names = ['first', 'second', 'third'];
    for (const name of names) {
      const created = await t.gql(`mutation ($name: String!) { createProject(name: $name) { id } }`, { name }, { as: owner });
      expect(created.errors).toBeUndefined();
    }
    const listed = (await t.gql('{ projects { id name } }', {}, { as: owner })).data!.projects;
    expect(listed.map((project: any) => project.name)).toEqual(names);

    const first = (await t.gql(PROJECTS_PAGE, { first: 2 }, { as: owner })).data!.projectsConnection;
    expect(first.edges.map((edge: any) => edge.node)).toEqual(listed.slice(0, 2));
    expect(first.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: first.edges[0].cursor,
      endCursor: first.edges[1].cursor,
    });
    const second = (await t.gql(PROJECTS_PAGE, { first: 2, after: first.pageInfo.endCursor }, { as: owner })).data!
      .projectsConnection;
    expect(second.edges.map((edge: any) => edge.node)).toEqual(listed.slice(2));
    expect(second.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: second.edges[0].cursor,
      endCursor: second.edges[0].cursor,
    });

    // The project at the cursor is deleted: the next page still starts after its place, the first one before it.
    const deleted = await t.gql(`mutation ($id: ID!) { deleteProject(id: $id) }`, { id: listed[1].id }, { as: owner });
    expect(deleted.data).toEqual({ deleteProject: true });
    const again = (await t.gql(PROJECTS_PAGE, { first: 2, after: first.pageInfo.endCursor }, { as: owner })).data!
      .projectsConnection;
    expect(again.edges.map((edge: any) => edge.node)).toEqual(listed.slice(2));
    expect(again.pageInfo.hasPreviousPage).toBe(true);

    // Another account's projects are not in the list.
    const stranger = (await t.gql(PROJECTS_PAGE, {}, { as: 'project-stranger' })).data!.projectsConnection;
    expect(stranger).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
    await t.expectLedgerReconciles();
  });

  describe('as a person reads it', () => {
    type Entry = { kind: string; creditType: string | null; amount: number; balanceAfter: number; description: string | null };
    /** The account's whole history, newest first, read a page of `first` at a time. */
    const historyOf = async (accountId: string, first = 100): Promise<Entry[]> => {
      const entries: Entry[] = [];
      for (let after: string | null = null; ; ) {
        const res: any = await t.gql(HISTORY, { first, after }, { as: accountId });
        expect(res.errors).toBeUndefined();
        entries.push(...res.data.creditTransactions.edges.map((edge: any) => edge.node));
        if (!res.data.creditTransactions.pageInfo.hasNextPage) return entries;
        after = res.data.creditTransactions.pageInfo.endCursor;
      }
    };
    afterEach(() => t.expectLedgerReconciles());

    const withoutGrants = (entries: Entry[]) => entries.filter((entry) => entry.kind !== 'GRANT');
    const overview = async (accountId: string) => (await t.gql(OVERVIEW, {}, { as: accountId })).data!.billing;
    const ledgerKinds = async (accountId: string) =>
      Object.fromEntries(
        (
          await t.dataSource.query(
            `SELECT kind, count(*)::int AS n FROM credit_transactions WHERE account_id = $1 GROUP BY kind`,
            [accountId],
          )
        ).map((row: { kind: string; n: number }) => [row.kind, row.n]),
      );

    it('shows a guarded call that succeeded as its charge, and one that failed not at all', async () => {
      const accountId = 'reader';
      const project = await t.gql(CREATE_PROJECT, { name: 'notes' }, { as: accountId });
      const projectId = project.data!.createProject.id;
      // The message store refuses one message: that call fails after its credit was reserved.
      await t.dataSource.query(`
        CREATE FUNCTION test_refuse_message() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the message store is unavailable'; END $$;
        CREATE TRIGGER test_refuse_message BEFORE INSERT ON chat_messages FOR EACH ROW
          WHEN (NEW.text = 'lost') EXECUTE FUNCTION test_refuse_message();
      `);
      try {
        const failed = await t.gql(SEND_CHAT, { projectId, text: 'lost' }, { as: accountId });
        expect(failed.errors).toBeDefined();
      } finally {
        await t.dataSource.query(`DROP TRIGGER test_refuse_message ON chat_messages; DROP FUNCTION test_refuse_message();`);
      }
      const sent = await t.gql(SEND_CHAT, { projectId, text: 'kept' }, { as: accountId });
      expect(sent.errors).toBeUndefined();

      const history = await historyOf(accountId);
      expect(withoutGrants(history)).toEqual([
        { kind: 'CAPTURE', creditType: 'MESSAGE', amount: -1, balanceAfter: 8, description: 'sendChatMessage' },
        { kind: 'CAPTURE', creditType: 'PROJECT', amount: -1, balanceAfter: 2, description: 'createProject' },
        { kind: 'CAPTURE', creditType: 'MESSAGE', amount: -1, balanceAfter: 9, description: 'createProject' },
      ]);
      expect(history.filter((entry) => entry.kind === 'HOLD' || entry.kind === 'RELEASE')).toEqual([]);
      // Read one entry per page, it is the same history.
      expect(await historyOf(accountId, 1)).toEqual(history);
      // The ledger keeps every row it wrote: the failed call's hold and the release that gave it back.
      expect(await ledgerKinds(accountId)).toMatchObject({ HOLD: 4, RELEASE: 1 });
      // What the history shows adds up to the balance, and its newest entry is what the overview says remains.
      const messages = history.filter((entry) => entry.creditType === 'MESSAGE');
      const billing = await overview(accountId);
      const balance = billing.balances.find((b: any) => b.creditType === 'MESSAGE');
      expect(messages.reduce((sum, entry) => sum + entry.amount, 0)).toBe(balance.remaining);
      expect(messages[0].balanceAfter).toBe(balance.remaining);
      expect(balance).toMatchObject({ used: 2, held: 0 });
    });

    it('shows a call that used less than it reserved as the charge it came to, wallet and allowance apart', async () => {
      const accountId = 'frugal';
      const credits = t.app.get(CreditsService);
      const partial = (used: number) => t.gql('mutation ($used: Int!) { partialIntegration(used: $used) }', { used }, { as: accountId });
      expect((await partial(4)).errors).toBeUndefined(); // 10 held, 4 charged
      await credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 91 }); // 5 of the allowance left
      await credits.grant({ accountId, amount: 30, kind: 'ADMIN', sourceKey: 'frugal-wallet', description: 'goodwill' });
      expect((await partial(7)).errors).toBeUndefined(); // 5 held from the allowance and 5 from the wallet, 7 charged
      expect((await partial(0)).errors).toBeUndefined(); // 10 held from the wallet, nothing charged

      expect(withoutGrants(await historyOf(accountId))).toEqual([
        { kind: 'CAPTURE', creditType: null, amount: -2, balanceAfter: 28, description: 'partialIntegration' },
        { kind: 'CAPTURE', creditType: 'INTEGRATION', amount: -5, balanceAfter: 0, description: 'partialIntegration' },
        { kind: 'ADJUST', creditType: null, amount: 30, balanceAfter: 30, description: 'goodwill' },
        { kind: 'CONSUME', creditType: 'INTEGRATION', amount: -91, balanceAfter: 5, description: null },
        { kind: 'CAPTURE', creditType: 'INTEGRATION', amount: -4, balanceAfter: 96, description: 'partialIntegration' },
      ]);
      expect(await ledgerKinds(accountId)).toMatchObject({ HOLD: 4, RELEASE: 3 });
      expect((await overview(accountId)).wallet.balance).toBe(28);
    });

    it('reads the holds captured for less before they recorded what they kept, from the ledger, once migrated', async () => {
      const accountId = 'frugal';
      const before = await historyOf(accountId);
      // Holds captured before `kept` was recorded.
      await t.dataSource.query(
        `UPDATE credit_holds SET allocations = (SELECT jsonb_agg(a - 'kept') FROM jsonb_array_elements(allocations) a)
          WHERE account_id = $1`,
        [accountId],
      );
      const runner = t.dataSource.createQueryRunner();
      try {
        await new KeptAllocations1795258801700().up(runner);
      } finally {
        await runner.release();
      }
      expect(await historyOf(accountId)).toEqual(before);
    });

    it('shows a held call as HOLD while it runs, and as its charge once it succeeded', async () => {
      const accountId = 'waiter';
      const credits = t.app.get(CreditsService);
      const hold = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 3 }], { description: 'long job' });
      expect(withoutGrants(await historyOf(accountId))).toEqual([
        { kind: 'HOLD', creditType: 'MESSAGE', amount: -3, balanceAfter: 7, description: 'long job' },
      ]);
      await credits.capture(accountId, hold.id);
      expect(withoutGrants(await historyOf(accountId))).toEqual([
        { kind: 'CAPTURE', creditType: 'MESSAGE', amount: -3, balanceAfter: 7, description: 'long job' },
      ]);
    });

    it('shows what is left of the project quota after each project created and deleted, like every other balance', async () => {
      const accountId = 'builder';
      const ids: string[] = [];
      for (const name of ['one', 'two']) ids.push((await t.gql(CREATE_PROJECT, { name }, { as: accountId })).data!.createProject.id);
      expect((await t.gql(DELETE_PROJECT, { id: ids[0] }, { as: accountId })).errors).toBeUndefined();
      // FREE: 3 projects.
      const projects = async () => (await historyOf(accountId)).filter((entry) => entry.creditType === 'PROJECT');
      expect(await projects()).toEqual([
        { kind: 'REFUND', creditType: 'PROJECT', amount: 1, balanceAfter: 2, description: 'project deleted' },
        { kind: 'CAPTURE', creditType: 'PROJECT', amount: -1, balanceAfter: 1, description: 'createProject' },
        { kind: 'CAPTURE', creditType: 'PROJECT', amount: -1, balanceAfter: 2, description: 'createProject' },
      ]);
      const quota = (await overview(accountId)).balances.find((b: any) => b.creditType === 'PROJECT');
      expect(quota).toMatchObject({ used: 1, remaining: 2 });

      // On a plan without a project limit, no quota runs out: what remains is the largest Int.
      await inTransaction(t.dataSource, async (manager) => {
        const account = await manager.findOneByOrFail(AccountEntity, { id: accountId });
        await t.app.get(AccountsService).upgradeNow(manager, account, PlanCode.STARTER, t.clock.now());
      });
      expect((await projects()).map((entry) => entry.balanceAfter)).toEqual([2_147_483_647, 2_147_483_647, 2_147_483_647]);
    });
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
    // A ledger cursor (a row id) is not a place in the lists ordered by creation time.
    const ledgerCursor = Buffer.from('v1:42').toString('base64url');
    for (const query of [PURCHASES, PROJECTS_PAGE]) {
      for (const after of ['garbage', ledgerCursor]) {
        const res = await t.gql(query, { first: 5, after }, { as: accountId });
        expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      }
    }
  });

  it('says nodes come before a page exactly when the account has rows at or above its cursor', async () => {
    const [newest] = (await t.gql(TRANSACTIONS, { first: 1 }, { as: accountId })).data!.creditTransactions.edges;
    // A cursor of another account's later row: nothing of this account is at or above it.
    await t.app.get(CreditsService).grant({ accountId: 'later-writer', amount: 5, kind: 'ADMIN', sourceKey: 'later' });
    const [later] = (await t.gql(TRANSACTIONS, { first: 1 }, { as: 'later-writer' })).data!.creditTransactions.edges;
    expect(Number(later.node.id)).toBeGreaterThan(Number(newest.node.id));
    const afterLater = (await t.gql(TRANSACTIONS, { first: 3, after: later.cursor }, { as: accountId })).data!
      .creditTransactions;
    expect(afterLater.edges[0].cursor).toBe(newest.cursor);
    expect(afterLater.pageInfo.hasPreviousPage).toBe(false);
    const afterNewest = (await t.gql(TRANSACTIONS, { first: 3, after: newest.cursor }, { as: accountId })).data!
      .creditTransactions;
    expect(afterNewest.pageInfo.hasPreviousPage).toBe(true);
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
