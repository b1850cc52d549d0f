import request from 'supertest';
import { Role } from '../src/auth/role.enum';
import { GuardedTestModule, GuardedTestResolver } from './support/guarded-test.module';
import { hangUp } from './support/hang-up';
import { startTestApp, TEST_APP_URL, TestApp } from './support/test-app';

const CREATE_PROJECT = `mutation ($name: String!) { createProject(name: $name) { id name createdAt } }`;
const DELETE_PROJECT = `mutation ($id: ID!) { deleteProject(id: $id) }`;
const SEND_CHAT = `mutation ($projectId: ID!, $text: String!) {
  sendChatMessage(projectId: $projectId, text: $text) { id projectId text createdAt }
}`;
const RUN_INTEGRATION = `mutation ($projectId: ID!, $calls: Int!) {
  runIntegration(projectId: $projectId, calls: $calls) { id calls }
}`;
const OVERVIEW = `{ billing { balances { creditType limit used held remaining percentUsed level } wallet { balance } warnings } }`;
const CONSUME = `mutation ($input: ConsumeCreditsInput!) {
  consumeCredits(input: $input) { allowed creditType charged fromAllowance fromWallet remaining replayed reason }
}`;
const GRANT = `mutation ($input: GrantCreditsInput!) {
  grantCredits(input: $input) { id kind creditType amount balanceAfter description }
}`;

describe('@RequiresCredits enforcement (e2e over GraphQL)', () => {
  let t: TestApp;
  let seq = 0;
  const newAccount = () => `enforce-${++seq}`;

  const balanceOf = async (accountId: string, type: string) => {
    const res = await t.gql(OVERVIEW, {}, { as: accountId });
    return res.data!.billing.balances.find((balance: any) => balance.creditType === type);
  };
  const ledgerRows = async (accountId: string) => {
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM credit_transactions WHERE account_id = $1`,
      [accountId],
    );
    return n as number;
  };
  const pendingHolds = async (accountId: string) => {
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM credit_holds WHERE account_id = $1 AND status = 'PENDING'`,
      [accountId],
    );
    return n as number;
  };
  const createProject = async (accountId: string, name = 'demo') => {
    const res = await t.gql(CREATE_PROJECT, { name }, { as: accountId });
    expect(res.errors).toBeUndefined();
    return res.data!.createProject.id as string;
  };

  beforeAll(async () => {
    t = await startTestApp({}, [GuardedTestModule]);
  });
  afterEach(() => t.expectLedgerReconciles());
  afterAll(() => t.close());

  describe('the verification checklist of the plan-limits design', () => {
    const account = 'checklist-user';

    it('gives a FREE account 10 message credits and 3 projects', async () => {
      const res = await t.gql(OVERVIEW, {}, { as: account });
      const limits = Object.fromEntries(res.data!.billing.balances.map((b: any) => [b.creditType, b.limit]));
      expect(limits).toEqual({ MESSAGE: 10, INTEGRATION: 100, PROJECT: 3 });
    });

    it('blocks generation after 3 projects with QUOTA_EXCEEDED, 402 and upgrade links', async () => {
      for (let i = 1; i <= 3; i++) await createProject(account, `project ${i}`);
      const refused = await t.gql(CREATE_PROJECT, { name: 'one too many' }, { as: account });
      expect(refused.status).toBe(402);
      expect(refused.data).toBeNull();
      const error = refused.errors![0];
      expect(error.extensions).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        http: { status: 402 },
        creditType: 'PROJECT',
        required: 1,
        available: 0,
        upgradeUrl: `${TEST_APP_URL}/billing/plans`,
        purchaseUrl: `${TEST_APP_URL}/billing/credits`,
      });
      expect(error.message).toMatch(/Free plan allows 3 projects/);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM projects WHERE account_id = $1`, [
        account,
      ]);
      expect(n).toBe(3);
      // The refused call reserved nothing: 3 of 10 message credits are used, by the 3 projects.
      expect(await balanceOf(account, 'MESSAGE')).toMatchObject({ used: 3, held: 0, remaining: 7 });
    });

    it('warns at 80 % and then blocks chat after the credits are used up, with upgrade links', async () => {
      const [projectId] = (await t.dataSource.query(`SELECT id FROM projects WHERE account_id = $1 LIMIT 1`, [account])).map(
        (row: { id: string }) => row.id,
      );
      for (let i = 0; i < 5; i++) {
        const res = await t.gql(SEND_CHAT, { projectId, text: `hello ${i}` }, { as: account });
        expect(res.errors).toBeUndefined();
      }
      const warning = await t.gql(OVERVIEW, {}, { as: account });
      const message = warning.data!.billing.balances.find((b: any) => b.creditType === 'MESSAGE');
      expect(message).toMatchObject({ used: 8, remaining: 2, percentUsed: 80, level: 'WARNING' });
      expect(warning.data!.billing.warnings).toEqual(
        expect.arrayContaining([expect.stringMatching(/used 8 of 10 message credits/)]),
      );

      for (let i = 0; i < 2; i++) await t.gql(SEND_CHAT, { projectId, text: 'more' }, { as: account });
      const refused = await t.gql(SEND_CHAT, { projectId, text: 'one too many' }, { as: account });
      expect(refused.status).toBe(402);
      expect(refused.errors![0].extensions).toMatchObject({
        code: 'INSUFFICIENT_CREDITS',
        http: { status: 402 },
        creditType: 'MESSAGE',
        required: 1,
        available: 0,
        upgradeUrl: `${TEST_APP_URL}/billing/plans`,
        purchaseUrl: `${TEST_APP_URL}/billing/credits`,
      });
      expect(refused.errors![0].message).toMatch(
        /^You have used all 10 message credits of your Free plan this month.*Upgrade or buy credits: https:\/\/app\.example\.test\/billing\/plans/,
      );
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM chat_messages WHERE account_id = $1`, [
        account,
      ]);
      expect(n).toBe(7);
    });

    it('blocks generation after credit exhaustion even with project quota free', async () => {
      const [{ id }] = await t.dataSource.query(`SELECT id FROM projects WHERE account_id = $1 LIMIT 1`, [account]);
      expect((await t.gql(DELETE_PROJECT, { id }, { as: account })).data).toEqual({ deleteProject: true });
      const refused = await t.gql(CREATE_PROJECT, { name: 'after exhaustion' }, { as: account });
      expect(refused.errors![0].extensions.code).toBe('INSUFFICIENT_CREDITS');
    });

    it('shows it all in the overview', async () => {
      const res = await t.gql(OVERVIEW, {}, { as: account });
      const byType = Object.fromEntries(res.data!.billing.balances.map((b: any) => [b.creditType, b]));
      expect(byType.MESSAGE).toMatchObject({ used: 10, remaining: 0, percentUsed: 100, level: 'EXHAUSTED' });
      expect(byType.PROJECT).toMatchObject({ used: 2, remaining: 1, level: 'OK' });
      expect(res.data!.billing.warnings).toEqual(
        expect.arrayContaining([expect.stringMatching(/used all 10 message credits.*Upgrade or buy credits/)]),
      );
    });
  });

  describe('rollback', () => {
    it.each(['failBeforeAwait', 'failAfterAwait'])(
      'charges nothing and leaves no hold when the resolver throws (%s)',
      async (operation) => {
        const accountId = newAccount();
        await t.gql(OVERVIEW, {}, { as: accountId });
        const res = await t.gql(`mutation { ${operation} }`, {}, { as: accountId });
        expect(res.errors![0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
        expect(res.errors![0].message).toBe('Internal server error');
        expect(JSON.stringify(res.errors)).not.toMatch(/hunter2|timed out/);
        expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 0, held: 0, remaining: 10 });
        expect(await pendingHolds(accountId)).toBe(0);
      },
    );

    it('charges nothing for an unknown or foreign project', async () => {
      const owner = newAccount();
      const stranger = newAccount();
      const projectId = await createProject(owner);
      await t.gql(OVERVIEW, {}, { as: stranger });
      const rowsBefore = await ledgerRows(stranger);
      for (const id of [projectId, '00000000-0000-4000-8000-000000000000']) {
        const res = await t.gql(SEND_CHAT, { projectId: id, text: 'hi' }, { as: stranger });
        expect(res.errors![0].extensions.code).toBe('NOT_FOUND');
      }
      expect(await balanceOf(stranger, 'MESSAGE')).toMatchObject({ used: 0, held: 0 });
      const runs = await t.gql(RUN_INTEGRATION, { projectId, calls: 5 }, { as: stranger });
      expect(runs.errors![0].extensions.code).toBe('NOT_FOUND');
      expect(await balanceOf(stranger, 'INTEGRATION')).toMatchObject({ used: 0, held: 0 });
      expect((await t.gql('{ projects { id } }', {}, { as: stranger })).data).toEqual({ projects: [] });
      // Refused before anything was reserved: not even a hold and its release reached the ledger.
      expect(await ledgerRows(stranger)).toBe(rowsBefore);
    });

    const waitFor = async (done: () => boolean) => {
      for (let i = 0; i < 50 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 100));
    };

    it('charges a resolver that succeeds after the client hung up: the work was done', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const completedBefore = GuardedTestResolver.completed;
      await hangUp(t, accountId, 'mutation { slowMessage(ms: 300) }', {}, 100);
      await waitFor(() => GuardedTestResolver.completed > completedBefore);
      expect(GuardedTestResolver.completed).toBe(completedBefore + 1);
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 1, held: 0, remaining: 9 });
      expect(await pendingHolds(accountId)).toBe(0);
    });

    it('releases the hold of a resolver that stops with an error once the client has hung up', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const stoppedBefore = GuardedTestResolver.stopped;
      await hangUp(t, accountId, 'mutation { stopsWhenAbandoned(ms: 300) }', {}, 100);
      await waitFor(() => GuardedTestResolver.stopped > stoppedBefore);
      expect(GuardedTestResolver.stopped).toBe(stoppedBefore + 1);
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 0, held: 0, remaining: 10 });
      expect(await pendingHolds(accountId)).toBe(0);
    });
  });

  it('charges only what a resolver reports it used', async () => {
    const accountId = newAccount();
    const res = await t.gql(`mutation { partialIntegration(used: 3) }`, {}, { as: accountId });
    expect(res.data).toEqual({ partialIntegration: 3 });
    expect(await balanceOf(accountId, 'INTEGRATION')).toMatchObject({ used: 3, held: 0, remaining: 97 });
  });

  it('leaves a resolver without the decorator untouched', async () => {
    const accountId = newAccount();
    await t.gql(OVERVIEW, {}, { as: accountId });
    const before = await ledgerRows(accountId);
    expect((await t.gql(`mutation { unguarded }`, {}, { as: accountId })).data).toEqual({ unguarded: true });
    expect(await ledgerRows(accountId)).toBe(before);
  });

  it('guards REST handlers too, answering 402 with the same fields', async () => {
    const accountId = newAccount();
    const res = await request(t.server)
      .post('/test/expensive')
      .set('authorization', `Bearer ${await t.token(accountId)}`)
      .send({});
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      creditType: 'INTEGRATION',
      required: 500,
      available: 100,
      upgradeUrl: `${TEST_APP_URL}/billing/plans`,
      purchaseUrl: `${TEST_APP_URL}/billing/credits`,
    });
  });

  describe('concurrency', () => {
    it('lets exactly 9 of 40 parallel chat messages through with 9 credits left', async () => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => t.gql(SEND_CHAT, { projectId, text: `m${i}` }, { as: accountId })),
      );
      const succeeded = responses.filter((res) => !res.errors);
      const refused = responses.filter((res) => res.errors);
      expect(succeeded).toHaveLength(9);
      expect(refused).toHaveLength(31);
      for (const res of refused) expect(res.errors![0].extensions.code).toBe('INSUFFICIENT_CREDITS');
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM chat_messages WHERE account_id = $1`, [
        accountId,
      ]);
      expect(n).toBe(9);
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 10, held: 0, remaining: 0 });
    });

    it('creates exactly 3 of 10 parallel projects at a quota of 3', async () => {
      const accountId = newAccount();
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) => t.gql(CREATE_PROJECT, { name: `p${i}` }, { as: accountId })),
      );
      expect(responses.filter((res) => !res.errors)).toHaveLength(3);
      for (const res of responses.filter((r) => r.errors)) expect(res.errors![0].extensions.code).toBe('QUOTA_EXCEEDED');
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM projects WHERE account_id = $1`, [
        accountId,
      ]);
      expect(n).toBe(3);
      expect(await balanceOf(accountId, 'PROJECT')).toMatchObject({ used: 3, held: 0, remaining: 0 });
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 3, held: 0 });
    });

    it('gives a deleted project unit back once when deleted twice at the same time', async () => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const results = await Promise.all([1, 2, 3].map(() => t.gql(DELETE_PROJECT, { id: projectId }, { as: accountId })));
      expect(results.filter((res) => res.data?.deleteProject === true)).toHaveLength(1);
      expect(results.filter((res) => res.errors?.[0].extensions.code === 'NOT_FOUND')).toHaveLength(2);
      expect(await balanceOf(accountId, 'PROJECT')).toMatchObject({ used: 0, remaining: 3 });
      const refunds = await t.dataSource.query(
        `SELECT amount::int FROM credit_transactions WHERE account_id = $1 AND pool = 'PROJECT' AND kind = 'REFUND'`,
        [accountId],
      );
      expect(refunds).toEqual([{ amount: 1 }]);
    });
  });

  describe('Idempotency-Key', () => {
    it('charges a retried request once and answers it with the first result', async () => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const headers = { 'idempotency-key': 'chat-retry-1' };
      const first = await t.gql(SEND_CHAT, { projectId, text: 'hello' }, { as: accountId, headers });
      const retry = await t.gql(SEND_CHAT, { projectId, text: 'hello' }, { as: accountId, headers });
      expect(first.errors).toBeUndefined();
      expect(retry.data).toEqual(first.data);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM chat_messages WHERE account_id = $1`, [
        accountId,
      ]);
      expect(n).toBe(1);
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 2 });
      // The same key with other arguments is refused; another key is charged again.
      const conflicting = await t.gql(RUN_INTEGRATION, { projectId, calls: 1 }, { as: accountId, headers });
      expect(conflicting.errors).toBeUndefined(); // a different operation: the key is scoped per operation
      const other = await t.gql(SEND_CHAT, { projectId, text: 'hello' }, { as: accountId, headers: { 'idempotency-key': 'x' } });
      expect(other.errors).toBeUndefined();
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 3 });
    });

    it('charges once when the same key arrives many times at once', async () => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const headers = { 'idempotency-key': 'burst' };
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => t.gql(SEND_CHAT, { projectId, text: 'once' }, { as: accountId, headers })),
      );
      const answered = responses.filter((res) => !res.errors);
      expect(answered.length).toBeGreaterThanOrEqual(1);
      for (const res of responses.filter((r) => r.errors)) {
        expect(res.errors![0].extensions.code).toBe('IDEMPOTENCY_CONFLICT');
      }
      expect(new Set(answered.map((res) => res.data!.sendChatMessage.id)).size).toBe(1);
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 2, held: 0 });
    });

    it('lets a retry after a failure run again', async () => {
      const accountId = newAccount();
      const headers = { 'idempotency-key': 'after-failure' };
      await t.gql(`mutation { failAfterAwait }`, {}, { as: accountId, headers });
      const res = await t.gql(`mutation { failAfterAwait }`, {}, { as: accountId, headers });
      expect(res.errors![0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await balanceOf(accountId, 'MESSAGE')).toMatchObject({ used: 0, held: 0 });
    });
  });

  describe('input', () => {
    it.each([0, -5, 1001])('refuses runIntegration with calls = %s before reserving anything', async (calls) => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const before = await ledgerRows(accountId);
      const res = await t.gql(RUN_INTEGRATION, { projectId, calls }, { as: accountId });
      expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(res.errors![0].message).toMatch(/calls/);
      expect(await ledgerRows(accountId)).toBe(before);
    });

    it('charges the calls of runIntegration as INTEGRATION credits', async () => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const res = await t.gql(RUN_INTEGRATION, { projectId, calls: 40 }, { as: accountId });
      expect(res.data!.runIntegration.calls).toBe(40);
      expect(await balanceOf(accountId, 'INTEGRATION')).toMatchObject({ used: 40, remaining: 60, level: 'OK' });
    });

    it.each([
      ['an empty name', ''],
      ['a blank name', '   '],
      ['an oversized name', 'n'.repeat(101)],
    ])('refuses %s for createProject and charges nothing', async (_, name) => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const before = await ledgerRows(accountId);
      const res = await t.gql(CREATE_PROJECT, { name }, { as: accountId });
      expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(await ledgerRows(accountId)).toBe(before);
    });
  });

  describe('wallet fallback', () => {
    it('pays chat from the wallet once the allowance is used up, and says so in the usage record', async () => {
      const accountId = newAccount();
      const projectId = await createProject(accountId);
      const grant = await t.gql(
        GRANT,
        { input: { accountId, amount: 2, reason: 'goodwill', idempotencyKey: `gw-${accountId}` } },
        { as: 'ops', roles: [Role.ADMIN] },
      );
      expect(grant.data!.grantCredits).toMatchObject({ kind: 'ADJUST', creditType: null, amount: 2, balanceAfter: 2 });
      for (let i = 0; i < 9; i++) await t.gql(SEND_CHAT, { projectId, text: `a${i}` }, { as: accountId });
      const paid = await t.gql(SEND_CHAT, { projectId, text: 'from wallet' }, { as: accountId });
      expect(paid.errors).toBeUndefined();
      const [usage] = await t.dataSource.query(
        `SELECT amount::int, from_allowance::int, from_wallet::int FROM credit_usage
          WHERE account_id = $1 AND credit_type = 'MESSAGE' ORDER BY id DESC LIMIT 1`,
        [accountId],
      );
      expect(usage).toEqual({ amount: 1, from_allowance: 0, from_wallet: 1 });
      const overview = await t.gql(OVERVIEW, {}, { as: accountId });
      expect(overview.data!.billing.wallet.balance).toBe(1);
      expect(overview.data!.billing.warnings).toEqual(
        expect.arrayContaining([expect.stringMatching(/paid from your wallet \(1 credits left\)/)]),
      );
    });
  });

  describe('consumeCredits and grantCredits', () => {
    it('meters the caller itself and refuses without charging', async () => {
      const accountId = newAccount();
      const ok = await t.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 60, idempotencyKey: 'a' } }, { as: accountId });
      expect(ok.data!.consumeCredits).toMatchObject({ allowed: true, charged: 60, fromAllowance: 60, remaining: 40 });
      const refused = await t.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 41, idempotencyKey: 'b' } }, { as: accountId });
      expect(refused.data!.consumeCredits).toMatchObject({
        allowed: false,
        charged: 0,
        remaining: 40,
        reason: 'INSUFFICIENT_CREDITS',
      });
      const replay = await t.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 60, idempotencyKey: 'a' } }, { as: accountId });
      expect(replay.data!.consumeCredits).toMatchObject({ allowed: true, charged: 60, replayed: true, remaining: 40 });
      const conflict = await t.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 1, idempotencyKey: 'a' } }, { as: accountId });
      expect(conflict.errors![0].extensions.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(await balanceOf(accountId, 'INTEGRATION')).toMatchObject({ used: 60, remaining: 40 });
    });

    it('lets a user charge only their own account; service and admin may name any', async () => {
      const victim = newAccount();
      await t.gql(OVERVIEW, {}, { as: victim });
      const input = { accountId: victim, creditType: 'MESSAGE', amount: 1, idempotencyKey: 'x' };
      const denied = await t.gql(CONSUME, { input }, { as: 'mallory' });
      expect(denied.errors![0].extensions.code).toBe('FORBIDDEN');
      expect(await balanceOf(victim, 'MESSAGE')).toMatchObject({ used: 0 });
      const service = await t.gql(CONSUME, { input }, { as: 'metering-service', roles: [Role.SERVICE] });
      expect(service.data!.consumeCredits).toMatchObject({ allowed: true, charged: 1 });
      const admin = await t.gql(CONSUME, { input: { ...input, idempotencyKey: 'y' } }, { as: 'ops', roles: [Role.ADMIN] });
      expect(admin.data!.consumeCredits).toMatchObject({ allowed: true, charged: 1 });
      expect(await balanceOf(victim, 'MESSAGE')).toMatchObject({ used: 2 });
    });

    it('refuses to meter PROJECT, a quota that only creating and deleting projects moves, and changes nothing', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const before = await ledgerRows(accountId);
      for (const caller of [{ as: accountId }, { as: 'metering-service', roles: [Role.SERVICE] }]) {
        const input = { accountId, creditType: 'PROJECT', amount: 1, idempotencyKey: 'quota' };
        const res = await t.gql(CONSUME, { input }, caller);
        expect(res.data).toBeNull();
        expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'creditType' });
      }
      expect(await ledgerRows(accountId)).toBe(before);
      expect(await balanceOf(accountId, 'PROJECT')).toMatchObject({ used: 0, held: 0, remaining: 3 });
      // The host's own operations still move it.
      await createProject(accountId);
      expect(await balanceOf(accountId, 'PROJECT')).toMatchObject({ used: 1, remaining: 2 });
    });

    it('refuses grantCredits to an account that does not exist unless asked to create it', async () => {
      const accountId = newAccount();
      const input = { accountId, amount: 40, reason: 'welcome', idempotencyKey: `welcome-${accountId}` };
      const accounts = () => t.dataSource.query(`SELECT id FROM accounts WHERE id = $1`, [accountId]);
      const refused = await t.gql(GRANT, { input }, { as: 'ops', roles: [Role.ADMIN] });
      expect(refused.data).toBeNull();
      expect(refused.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'ACCOUNT_NOT_FOUND', accountId });
      expect(await accounts()).toEqual([]);
      expect(await ledgerRows(accountId)).toBe(0);
      const explicit = await t.gql(GRANT, { input: { ...input, createAccount: false } }, { as: 'ops', roles: [Role.ADMIN] });
      expect(explicit.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'ACCOUNT_NOT_FOUND' });

      const created = await t.gql(GRANT, { input: { ...input, createAccount: true } }, { as: 'ops', roles: [Role.ADMIN] });
      expect(created.errors).toBeUndefined();
      expect(created.data!.grantCredits).toMatchObject({ kind: 'ADJUST', amount: 40, balanceAfter: 40 });
      expect(await accounts()).toEqual([{ id: accountId }]);
      // Now that it exists, the same grant is answered again without the flag, and others need none.
      const again = await t.gql(GRANT, { input }, { as: 'ops', roles: [Role.ADMIN] });
      expect(again.data!.grantCredits.id).toBe(created.data!.grantCredits.id);
      const more = await t.gql(GRANT, { input: { ...input, idempotencyKey: `more-${accountId}` } }, { as: 'ops', roles: [Role.ADMIN] });
      expect(more.data!.grantCredits).toMatchObject({ amount: 40, balanceAfter: 80 });
      const overview = await t.gql(OVERVIEW, {}, { as: accountId });
      expect(overview.data!.billing.wallet.balance).toBe(80);
    });

    it('refuses grantCredits without the admin role and grants once per idempotency key', async () => {
      const accountId = newAccount();
      const input = { accountId, amount: 250, reason: 'support ticket 42', idempotencyKey: `t42-${accountId}`, createAccount: true };
      for (const roles of [[], [Role.SERVICE]]) {
        const denied = await t.gql(GRANT, { input }, { as: accountId, roles });
        expect(denied.errors![0].extensions.code).toBe('FORBIDDEN');
      }
      const first = await t.gql(GRANT, { input }, { as: 'ops', roles: [Role.ADMIN] });
      const again = await t.gql(GRANT, { input }, { as: 'ops', roles: [Role.ADMIN] });
      expect(first.data!.grantCredits).toMatchObject({ amount: 250, balanceAfter: 250, description: 'support ticket 42' });
      expect(again.data!.grantCredits.id).toBe(first.data!.grantCredits.id);
      const conflicting = await t.gql(GRANT, { input: { ...input, amount: 300 } }, { as: 'ops', roles: [Role.ADMIN] });
      expect(conflicting.errors![0].extensions.code).toBe('IDEMPOTENCY_CONFLICT');
      const overview = await t.gql(OVERVIEW, {}, { as: accountId });
      expect(overview.data!.billing.wallet.balance).toBe(250);
    });
  });
});
