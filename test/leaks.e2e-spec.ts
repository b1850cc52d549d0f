import request from 'supertest';
import { Role } from '../src/auth/role.enum';
import { AccountsService } from '../src/accounts/accounts.service';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { LedgerFunctions } from '../src/credits/ledger-functions';
import { OpenHolds } from '../src/credits/open-holds';
import { MetricsService } from '../src/observability/metrics.service';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { GuardedTestModule } from './support/guarded-test.module';
import { hangUp } from './support/hang-up';
import { checkoutSessionObject, postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { startTestApp, TestApp } from './support/test-app';

const CREATE_PROJECT = `mutation ($name: String!) { createProject(name: $name) { id name } }`;
const SEND_CHAT = `mutation ($projectId: ID!, $text: String!) { sendChatMessage(projectId: $projectId, text: $text) { id } }`;
const OVERVIEW = `{ billing { balances { creditType limit used held remaining } wallet { balance totalPurchased totalUsed } } }`;
const GRANT = `mutation ($input: GrantCreditsInput!) { grantCredits(input: $input) { id amount balanceAfter } }`;
const CONSUME = `mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed charged fromWallet remaining } }`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The outside review of the running service: every way work or credits leaked around the ledger. */
describe('no credit is given away (e2e)', () => {
  let t: TestApp;
  let seq = 0;
  const newAccount = () => `leak-${++seq}`;

  const balanceOf = async (app: TestApp, accountId: string, type: string) => {
    const res = await app.gql(OVERVIEW, {}, { as: accountId });
    return res.data!.billing.balances.find((balance: any) => balance.creditType === type);
  };
  const count = async (app: TestApp, sql: string, params: unknown[]) =>
    Number((await app.dataSource.query(sql, params))[0].n);
  const pendingHolds = (app: TestApp, accountId: string) =>
    count(app, `SELECT count(*) AS n FROM credit_holds WHERE account_id = $1 AND status = 'PENDING'`, [accountId]);
  /** Waits until no guarded request of the service has a hold open, three looks in a row. */
  const settled = async (app: TestApp, accountId: string) => {
    for (let quiet = 0, i = 0; quiet < 3 && i < 100; i++) {
      await sleep(100);
      const idle = app.app.get(OpenHolds).size === 0 && (await pendingHolds(app, accountId)) === 0;
      quiet = idle ? quiet + 1 : 0;
    }
  };
  const grantWallet = (app: TestApp, accountId: string, amount: number, key = `grant-${accountId}-${amount}`) =>
    app.gql(GRANT, { input: { accountId, amount, reason: 'test credits', idempotencyKey: key, createAccount: true } }, { as: 'ops', roles: [Role.ADMIN] });

  beforeAll(async () => {
    t = await startTestApp({}, [GuardedTestModule]);
  });
  afterEach(() => t.expectLedgerReconciles());
  afterAll(() => t.close());

  describe('item 1: a client that hangs up still pays for work that succeeded', () => {
    /**
     * Runs `send` while another transaction holds `lockSql`, so that the resolvers' own inserts wait on it; the
     * clients hang up meanwhile, then the lock goes and the resolvers finish their work.
     */
    const whileLocked = async (lockSql: string, params: unknown[], send: () => Promise<unknown>) => {
      const runner = t.dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        await runner.query(lockSql, params);
        await send();
      } finally {
        await runner.commitTransaction();
        await runner.release();
      }
    };

    it('createProject: every stored project holds a PROJECT unit and was paid, and can be deleted', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      await whileLocked(`SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, [accountId], () =>
        Promise.all(Array.from({ length: 3 }, (_, i) => hangUp(t, accountId, CREATE_PROJECT, { name: `p${i}` }, 300))),
      );
      await settled(t, accountId);
      const projects = await count(t, `SELECT count(*) AS n FROM projects WHERE account_id = $1`, [accountId]);
      expect(projects).toBe(3);
      expect(await balanceOf(t, accountId, 'PROJECT')).toMatchObject({ used: 3, held: 0 });
      expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 3, held: 0 });
      const ids: Array<{ id: string }> = await t.dataSource.query(`SELECT id FROM projects WHERE account_id = $1`, [accountId]);
      for (const { id } of ids) {
        const deleted = await t.gql(`mutation ($id: ID!) { deleteProject(id: $id) }`, { id }, { as: accountId });
        expect(deleted.errors).toBeUndefined();
      }
      expect(await balanceOf(t, accountId, 'PROJECT')).toMatchObject({ used: 0 });
    });

    it('sendChatMessage: every stored message was charged, whenever its client hung up', async () => {
      const accountId = newAccount();
      const project = await t.gql(CREATE_PROJECT, { name: 'chat' }, { as: accountId });
      const projectId = project.data!.createProject.id;
      await grantWallet(t, accountId, 80);
      await whileLocked(`SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, [projectId], () =>
        Promise.all(Array.from({ length: 5 }, (_, i) => hangUp(t, accountId, SEND_CHAT, { projectId, text: `held ${i}` }, 300))),
      );
      // And hang-ups spread over the time an unhindered request takes.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => hangUp(t, accountId, SEND_CHAT, { projectId, text: `m${i}` }, i * 0.25)),
      );
      await settled(t, accountId);
      // One snapshot of both: a message and its charge commit together.
      const [{ messages, charged }] = await t.dataSource.query(
        `SELECT (SELECT count(*)::int FROM chat_messages WHERE account_id = $1) AS messages,
                (SELECT coalesce(sum(amount), 0)::int FROM credit_usage WHERE account_id = $1 AND credit_type = 'MESSAGE') AS charged`,
        [accountId],
      );
      expect(messages).toBeGreaterThanOrEqual(5);
      // One MESSAGE for the project, one for each stored message.
      expect(charged).toBe(messages + 1);
    });
  });

  it('item 2: a handler that succeeds after a shutdown released its hold is charged afresh', async () => {
    const accountId = newAccount();
    await t.gql(OVERVIEW, {}, { as: accountId });
    const answer = t.gql('mutation { slowMessage(ms: 600) }', {}, { as: accountId });
    await sleep(200);
    // What a shutdown does with the holds of handlers still running after its grace period.
    await t.app.get(OpenHolds).releaseAll();
    expect((await answer).data).toEqual({ slowMessage: true });
    expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 1, held: 0 });
  });

  describe('item 2: a handler slower than its hold is charged', () => {
    let short: TestApp;
    beforeAll(async () => {
      short = await startTestApp({ HOLD_TTL_SECONDS: '5' }, [GuardedTestModule]);
    });
    afterAll(() => short.close());

    it('keeps the hold of a running request alive, so no sweeper takes it', async () => {
      const accountId = newAccount();
      await short.gql(OVERVIEW, {}, { as: accountId });
      const answer = short.gql('mutation { slowMessage(ms: 7000) }', {}, { as: accountId });
      await sleep(6300);
      // Past the TTL the request started with, a sweeper (any instance's) finds nothing to give back.
      expect(await short.app.get(CreditsService).expireHolds()).toBe(0);
      const res = await answer;
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ slowMessage: true });
      expect(await balanceOf(short, accountId, 'MESSAGE')).toMatchObject({ used: 1, held: 0 });
      await short.expectLedgerReconciles();
    });

    it('charges afresh, once, a request whose hold was swept while the database was out of reach', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      t.clock.set(new Date());
      const answer = t.gql('mutation { slowMessage(ms: 600) }', {}, { as: accountId });
      await sleep(200);
      t.clock.advance((t.config.HOLD_TTL_SECONDS + 5) * 1000);
      expect(await t.app.get(CreditsService).expireHolds()).toBe(1);
      const res = await answer;
      t.clock.set(new Date());
      expect(res.data).toEqual({ slowMessage: true });
      expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 1, held: 0 });
      const [usage] = await t.dataSource.query(
        `SELECT amount::int, idempotency_key FROM credit_usage WHERE account_id = $1`,
        [accountId],
      );
      expect(usage).toMatchObject({ amount: 1, idempotency_key: expect.stringMatching(/^late-capture:/) });
    });

    it('records a shortfall when the swept credits were spent meanwhile', async () => {
      const accountId = newAccount();
      await t.gql(OVERVIEW, {}, { as: accountId });
      const metrics = t.app.get(MetricsService);
      const before = (await metrics.creditsShortfall.get()).values.find((v) => v.labels.reason === 'LATE_CAPTURE')?.value ?? 0;
      t.clock.set(new Date());
      const answer = t.gql('mutation { slowMessage(ms: 600) }', {}, { as: accountId });
      await sleep(200);
      t.clock.advance((t.config.HOLD_TTL_SECONDS + 5) * 1000);
      expect(await t.app.get(CreditsService).expireHolds()).toBe(1);
      const spend = await t.gql(CONSUME, { input: { creditType: 'MESSAGE', amount: 10, idempotencyKey: `all-${accountId}` } }, { as: accountId });
      expect(spend.errors).toBeUndefined();
      const res = await answer;
      t.clock.set(new Date());
      expect(res.data).toEqual({ slowMessage: true });
      const shortfalls = await t.dataSource.query(
        `SELECT pool, charge_type, amount::int, reason FROM credit_shortfalls WHERE account_id = $1`,
        [accountId],
      );
      expect(shortfalls).toEqual([{ pool: 'MESSAGE', charge_type: 'MESSAGE', amount: 1, reason: 'LATE_CAPTURE' }]);
      const after = (await metrics.creditsShortfall.get()).values.find((v) => v.labels.reason === 'LATE_CAPTURE')?.value ?? 0;
      expect(after - before).toBe(1);
    });
  });

  describe('item 3: a refund takes the refunded credits back from the wallet as a whole', () => {
    let s: TestApp;
    let stripe: LocalStripeServer;
    beforeAll(async () => {
      ({ t: s, stripe } = await startStripeTestApp());
    });
    afterEach(() => s.expectLedgerReconciles());
    afterAll(async () => {
      await s.close();
      await stripe.stop();
    });

    const buy = async (accountId: string) => {
      const res = await s.gql(`mutation { purchaseCredits(packageId: "starter") { sessionId } }`, {}, { as: accountId });
      const session = stripe.sessions.get(res.data!.purchaseCredits.sessionId);
      expect((await postWebhook(s, stripeEvent('checkout.session.completed', checkoutSessionObject(session)))).status).toBe(200);
      return session;
    };
    const refund = (session: any, id: string) =>
      postWebhook(
        s,
        stripeEvent('charge.refunded', {
          id,
          object: 'charge',
          amount: 500,
          amount_refunded: 500,
          refunded: true,
          payment_intent: session.payment_intent,
          metadata: {},
        }),
      );

    it('takes back a refunded purchase spent first from the credits bought later; the rest is a recorded shortfall', async () => {
      const accountId = newAccount();
      const first = await buy(accountId);
      const second = await buy(accountId);
      // 100 of the allowance, then 100 from the wallet: the oldest purchase's credits.
      const spend = await s.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 200, idempotencyKey: 'spend' } }, { as: accountId });
      expect(spend.data!.consumeCredits).toMatchObject({ allowed: true, fromWallet: 100 });
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(100);

      expect((await refund(first, 'ch_first')).status).toBe(200);
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(0);
      const clawbacks = await s.dataSource.query(
        `SELECT t.amount::int, g.source_key FROM credit_transactions t JOIN credit_grants g ON g.id = t.grant_id
          WHERE t.account_id = $1 AND t.kind = 'CLAWBACK'`,
        [accountId],
      );
      expect(clawbacks).toEqual([{ amount: -100, source_key: expect.stringMatching(/^purchase:/) }]);
      expect(await count(s, `SELECT count(*) AS n FROM credit_shortfalls WHERE account_id = $1`, [accountId])).toBe(0);

      // The second purchase refunded too: nothing is left to take back, and an operator can see it.
      const metrics = s.app.get(MetricsService);
      const before = (await metrics.creditsShortfall.get()).values.find((v) => v.labels.reason === 'CLAWBACK')?.value ?? 0;
      expect((await refund(second, 'ch_second')).status).toBe(200);
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(0);
      const shortfalls = await s.dataSource.query(
        `SELECT pool, amount::int, reason FROM credit_shortfalls WHERE account_id = $1`,
        [accountId],
      );
      expect(shortfalls).toEqual([{ pool: 'WALLET', amount: 100, reason: 'CLAWBACK' }]);
      const after = (await metrics.creditsShortfall.get()).values.find((v) => v.labels.reason === 'CLAWBACK')?.value ?? 0;
      expect(after - before).toBe(100);
    });

    it('a refund or dispute delivered before the payment is reported leaves nothing to credit', async () => {
      const accountId = newAccount();
      const start = async () => {
        const res = await s.gql(`mutation { purchaseCredits(packageId: "starter") { sessionId } }`, {}, { as: accountId });
        return stripe.sessions.get(res.data!.purchaseCredits.sessionId);
      };
      const complete = (session: any) =>
        postWebhook(s, stripeEvent('checkout.session.completed', checkoutSessionObject(session)));
      const refunded = await start();
      expect((await refund(refunded, 'ch_early')).status).toBe(200);
      expect((await complete(refunded)).status).toBe(200);
      const disputed = await start();
      await postWebhook(s, stripeEvent('charge.dispute.created', { id: 'dp_early', object: 'dispute', charge: 'ch_x', payment_intent: disputed.payment_intent }));
      expect((await complete(disputed)).status).toBe(200);
      // A partial refund first: the rest is credited.
      const partial = await start();
      await postWebhook(s, stripeEvent('charge.refunded', { id: 'ch_part_early', object: 'charge', amount: 500, amount_refunded: 100, payment_intent: partial.payment_intent, metadata: {} }));
      expect((await complete(partial)).status).toBe(200);
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(80);
      const statuses = await s.dataSource.query(
        `SELECT status, credits_clawed_back::int AS back FROM credit_purchases WHERE account_id = $1 ORDER BY created_at`,
        [accountId],
      );
      expect(statuses).toEqual([
        { status: 'REFUNDED', back: 100 },
        { status: 'REFUNDED', back: 100 },
        { status: 'COMPLETED', back: 20 },
      ]);
    });

    it('takes back refunded credits that were held when they come back, and records no shortfall for them', async () => {
      const accountId = newAccount();
      const purchase = await buy(accountId);
      const spent = await s.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 100, idempotencyKey: 'allowance' } }, { as: accountId });
      expect(spent.data!.consumeCredits).toMatchObject({ allowed: true, fromWallet: 0 });
      // A request holds the 100 wallet credits when the refund arrives, then fails.
      const credits = s.app.get(CreditsService);
      const hold = await credits.hold(accountId, [{ type: CreditType.INTEGRATION, amount: 100 }]);
      expect((await refund(purchase, 'ch_held')).status).toBe(200);
      await credits.release(accountId, hold.id);
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(0);
      expect(await count(s, `SELECT count(*) AS n FROM credit_shortfalls WHERE account_id = $1`, [accountId])).toBe(0);
      const [pool] = await s.dataSource.query(
        `SELECT balance::int, held::int, owed::int FROM credit_balances WHERE account_id = $1 AND pool = 'WALLET'`,
        [accountId],
      );
      expect(pool).toEqual({ balance: 0, held: 0, owed: 0 });
    });

    it('a refund whose held credits are then spent is collected from the next credits bought', async () => {
      const accountId = newAccount();
      const first = await buy(accountId);
      await s.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 100, idempotencyKey: 'allowance' } }, { as: accountId });
      const credits = s.app.get(CreditsService);
      const hold = await credits.hold(accountId, [{ type: CreditType.INTEGRATION, amount: 100 }]);
      expect((await refund(first, 'ch_spent')).status).toBe(200);
      await credits.capture(accountId, hold.id);
      // The 100 held credits were spent although they were refunded: the wallet owes them.
      await buy(accountId);
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(0);
    });

    it('a dispute after a partial refund takes back only the rest, from any wallet credits', async () => {
      const accountId = newAccount();
      const first = await buy(accountId);
      await buy(accountId);
      await s.gql(CONSUME, { input: { creditType: 'INTEGRATION', amount: 150, idempotencyKey: 'spend' } }, { as: accountId });
      // Wallet: 150 left (50 of the first purchase, 100 of the second).
      await postWebhook(s, stripeEvent('charge.refunded', { id: 'ch_part', object: 'charge', amount: 500, amount_refunded: 200, payment_intent: first.payment_intent, metadata: {} }));
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(110);
      await postWebhook(s, stripeEvent('charge.dispute.created', { id: 'dp_rest', object: 'dispute', charge: 'ch_part', payment_intent: first.payment_intent }));
      expect((await s.gql(OVERVIEW, {}, { as: accountId })).data!.billing.wallet.balance).toBe(50);
    });
  });

  it('item 12: idempotency keys of two accounts never collide in one batch', async () => {
    const accounts = t.app.get(AccountsService);
    await accounts.ensure('P');
    await accounts.ensure('P|k1');
    const request = (account: string, key: string) => ({
      account,
      type: CreditType.MESSAGE,
      amount: 1,
      walletRate: 1,
      key,
      hash: `hash-${account}-${key}`,
      description: null,
    });
    const outcomes = await t.app.get(LedgerFunctions).consumeBatch([request('P', 'k1|n'), request('P|k1', 'n')], new Date());
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['OK', 'OK']);
    expect(outcomes.map((outcome) => (outcome as { replayed: boolean }).replayed)).toEqual([false, false]);
    // And again, now from the stored usage: each replays its own.
    const again = await t.app.get(LedgerFunctions).consumeBatch([request('P', 'k1|n'), request('P|k1', 'n')], new Date());
    expect(again.map((outcome) => [outcome.status, (outcome as { replayed: boolean }).replayed])).toEqual([
      ['OK', true],
      ['OK', true],
    ]);
    expect(await balanceOf(t, 'P', 'MESSAGE')).toMatchObject({ used: 1 });
    expect(await balanceOf(t, 'P|k1', 'MESSAGE')).toMatchObject({ used: 1 });
  });

  it('item 13: a grant can never hold fewer than zero credits', async () => {
    const accountId = newAccount();
    await t.gql(OVERVIEW, {}, { as: accountId });
    await expect(
      t.dataSource.query(`UPDATE credit_grants SET remaining = -1 WHERE account_id = $1`, [accountId]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('item 14: a grant that would take a balance past a GraphQL Int is refused and changes nothing', async () => {
    const accountId = newAccount();
    expect((await grantWallet(t, accountId, 1_000_000_000, `big-1-${accountId}`)).errors).toBeUndefined();
    expect((await grantWallet(t, accountId, 1_000_000_000, `big-2-${accountId}`)).errors).toBeUndefined();
    const refused = await grantWallet(t, accountId, 1_000_000_000, `big-3-${accountId}`);
    expect(refused.errors![0].extensions).toMatchObject({ code: 'BALANCE_LIMIT' });
    expect(await count(t, `SELECT count(*) AS n FROM credit_grants WHERE source_key = $1`, [`admin:big-3-${accountId}`])).toBe(0);
    const overview = await t.gql(OVERVIEW, {}, { as: accountId });
    expect(overview.errors).toBeUndefined();
    expect(overview.data!.billing.wallet.balance).toBe(2_000_000_000);
    const spend = await t.gql(CONSUME, { input: { creditType: 'MESSAGE', amount: 20, idempotencyKey: 'spend' } }, { as: accountId });
    expect(spend.errors).toBeUndefined();
    expect(spend.data!.consumeCredits).toMatchObject({ allowed: true, fromWallet: 10 });
  });

  it('item 14: lifetime wallet totals past a GraphQL Int do not break the overview', async () => {
    const accountId = newAccount();
    const credits = t.app.get(CreditsService);
    for (let i = 0; i < 3; i++) {
      await credits.grant({ accountId, amount: 1_000_000_000, kind: 'PURCHASE', sourceKey: `lifetime-${accountId}-${i}` });
      const spend = await credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 1_000_000_000 });
      expect(spend.allowed).toBe(true);
    }
    const overview = await t.gql(OVERVIEW, {}, { as: accountId });
    expect(overview.errors).toBeUndefined();
    expect(overview.data!.billing.wallet).toEqual({ balance: 100, totalPurchased: 2_147_483_647, totalUsed: 2_147_483_647 });
  });

  describe('item 16: an operation with several guarded fields is paid as a whole, and says what was charged', () => {
    const TWO = `mutation { a: createProject(name: "a") { id } b: createProject(name: "b") { id } }`;

    it('refuses the whole operation before anything runs when its fields cannot all be paid', async () => {
      const accountId = newAccount();
      for (const name of ['one', 'two']) expect((await t.gql(CREATE_PROJECT, { name }, { as: accountId })).errors).toBeUndefined();
      const res = await t.gql(TWO, {}, { as: accountId });
      expect(res.status).toBe(402);
      expect(res.errors!.map((error) => error.extensions.code)).toContain('QUOTA_EXCEEDED');
      const body = await request(t.server)
        .post('/graphql')
        .set('authorization', `Bearer ${await t.token(accountId)}`)
        .send({ query: TWO });
      expect(body.body.extensions.credits).toEqual([
        { field: 'a', status: 'REFUSED', charges: [] },
        { field: 'b', status: 'REFUSED', charges: [] },
      ]);
      expect(await count(t, `SELECT count(*) AS n FROM projects WHERE account_id = $1`, [accountId])).toBe(2);
      await settled(t, accountId);
      expect(await balanceOf(t, accountId, 'PROJECT')).toMatchObject({ used: 2, held: 0 });
      expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 2, held: 0 });
    });

    it('runs and charges every field when all can be paid', async () => {
      const accountId = newAccount();
      const res = await request(t.server)
        .post('/graphql')
        .set('authorization', `Bearer ${await t.token(accountId)}`)
        .send({ query: TWO });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.extensions.credits).toEqual([
        { field: 'a', status: 'CHARGED', charges: [{ type: 'MESSAGE', amount: 1 }, { type: 'PROJECT', amount: 1 }] },
        { field: 'b', status: 'CHARGED', charges: [{ type: 'MESSAGE', amount: 1 }, { type: 'PROJECT', amount: 1 }] },
      ]);
      expect(await balanceOf(t, accountId, 'PROJECT')).toMatchObject({ used: 2, held: 0 });
    });

    it('answers 200 and names the charged field when a later field fails and nulls the data', async () => {
      const accountId = newAccount();
      const missing = '00000000-0000-4000-8000-000000000000';
      const res = await request(t.server)
        .post('/graphql')
        .set('authorization', `Bearer ${await t.token(accountId)}`)
        .send({ query: `mutation { a: createProject(name: "a") { id } b: sendChatMessage(projectId: "${missing}", text: "x") { id } }` });
      expect(res.body.data).toBeNull();
      expect(res.status).toBe(200);
      expect(res.body.extensions.credits).toEqual([
        { field: 'a', status: 'CHARGED', charges: [{ type: 'MESSAGE', amount: 1 }, { type: 'PROJECT', amount: 1 }] },
      ]);
      await settled(t, accountId);
      expect(await count(t, `SELECT count(*) AS n FROM projects WHERE account_id = $1`, [accountId])).toBe(1);
      expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 1, held: 0 });
    });
  });

  describe('item 23: a guarded REST handler is charged and validated from each argument’s own source', () => {
    it('charges what the handler reads from the query string, whatever the body says', async () => {
      const accountId = newAccount();
      const res = await request(t.server)
        .post('/test/integrations?calls=40')
        .set('authorization', `Bearer ${await t.token(accountId)}`)
        .send({ calls: 1 });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ calls: 40 });
      expect(await balanceOf(t, accountId, 'INTEGRATION')).toMatchObject({ used: 40, held: 0 });
    });

    it('validates a body DTO against the body alone', async () => {
      const accountId = newAccount();
      const res = await request(t.server)
        .post('/test/notes?trace=1')
        .set('authorization', `Bearer ${await t.token(accountId)}`)
        .send({ text: 'hello' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ text: 'hello' });
      const refused = await request(t.server)
        .post('/test/notes')
        .set('authorization', `Bearer ${await t.token(accountId)}`)
        .send({ text: 'hello', extra: true });
      expect(refused.status).toBe(400);
      expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 1, held: 0 });
    });
  });

  it('item 24: guarded writes in their own transactions never exhaust a small connection pool', async () => {
    const small = await startTestApp({ DATABASE_POOL_SIZE: '3' }, [GuardedTestModule]);
    try {
      const accountId = newAccount();
      const project = await small.gql(CREATE_PROJECT, { name: 'busy' }, { as: accountId });
      const projectId = project.data!.createProject.id;
      await grantWallet(small, accountId, 100);
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) => small.gql(SEND_CHAT, { projectId, text: `m${i}` }, { as: accountId })),
      );
      for (const answer of answers) expect(answer.errors).toBeUndefined();
      expect(await balanceOf(small, accountId, 'MESSAGE')).toMatchObject({ used: 10, held: 0 });
      await small.expectLedgerReconciles();
    } finally {
      await small.close();
    }
  });

  it('item 24: a project and its charge commit together: a failed capture leaves no project behind', async () => {
    const accountId = 'leak-crash-capture';
    await t.gql(OVERVIEW, {}, { as: accountId });
    await t.dataSource.query(`
      CREATE FUNCTION test_refuse_capture() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the database went away during the capture'; END $$;
      CREATE TRIGGER test_refuse_capture BEFORE UPDATE ON credit_holds FOR EACH ROW
        WHEN (NEW.status = 'CAPTURED' AND NEW.account_id = 'leak-crash-capture') EXECUTE FUNCTION test_refuse_capture();
    `);
    try {
      const res = await t.gql(CREATE_PROJECT, { name: 'lost' }, { as: accountId });
      expect(res.errors).toBeDefined();
      expect(await count(t, `SELECT count(*) AS n FROM projects WHERE account_id = $1`, [accountId])).toBe(0);
      expect(await balanceOf(t, accountId, 'PROJECT')).toMatchObject({ used: 0, held: 0 });
      expect(await balanceOf(t, accountId, 'MESSAGE')).toMatchObject({ used: 0, held: 0 });
    } finally {
      await t.dataSource.query(`DROP TRIGGER test_refuse_capture ON credit_holds; DROP FUNCTION test_refuse_capture();`);
    }
    const again = await t.gql(CREATE_PROJECT, { name: 'kept' }, { as: accountId });
    expect(again.errors).toBeUndefined();
    expect(await balanceOf(t, accountId, 'PROJECT')).toMatchObject({ used: 1, held: 0 });
  });
});
