import { GraphQLSchemaHost } from '@nestjs/graphql';
import { printSchema, lexicographicSortSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { SCHEMA_FILE } from '../src/app.module';
import { Role } from '../src/auth/role.enum';
import { CreditsService } from '../src/credits/credits.service';
import { startTestApp, TEST_APP_URL, TEST_JWT_SECRET, TestApp } from './support/test-app';

const OVERVIEW_FIELDS = `
    accountId
    subscription { plan { code name } status currentPeriodStart currentPeriodEnd cancelAtPeriodEnd pendingPlan { code } }
    balances { creditType limit used held remaining percentUsed level resetsAt }
    wallet { balance totalPurchased totalUsed }
    warnings upgradeUrl purchaseUrl`;
const OVERVIEW = `{ billing { ${OVERVIEW_FIELDS} } }`;
const OVERVIEW_OF = `query ($accountId: ID) { billing(accountId: $accountId) { ${OVERVIEW_FIELDS} } }`;

describe('foundation (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('serves the plan catalog and credit packages of the spec without a token', async () => {
    const res = await t.gql(`{
      plans { code name priceCents currency limits { creditType limit resetsEachPeriod } }
      creditPackages { id name credits priceCents currency pricePerCreditCents mostPopular }
    }`);
    expect(res.errors).toBeUndefined();
    const plans = res.data!.plans.map((plan: any) => [
      plan.code,
      plan.priceCents,
      ...plan.limits.map((limit: any) => limit.limit),
    ]);
    expect(plans).toEqual([
      ['FREE', 0, 10, 100, 3],
      ['STARTER', 1900, 100, 2000, null],
      ['BUILDER', 4900, 250, 10000, null],
      ['PRO', 9900, 500, 20000, null],
      ['ELITE', 19900, 1200, 50000, null],
    ]);
    expect(res.data!.plans[0].limits.find((l: any) => l.creditType === 'PROJECT').resetsEachPeriod).toBe(false);
    expect(res.data!.creditPackages.map((p: any) => [p.id, p.credits, p.priceCents, p.pricePerCreditCents])).toEqual([
      ['starter', 100, 500, 5],
      ['small', 500, 2000, 4],
      ['popular', 1000, 3500, 3.5],
      ['power', 5000, 15000, 3],
      ['maximum', 10000, 25000, 2.5],
    ]);
    expect(res.data!.creditPackages.filter((p: any) => p.mostPopular).map((p: any) => p.id)).toEqual(['popular']);
  });

  describe('authentication', () => {
    it('refuses a request without a token as UNAUTHENTICATED', async () => {
      const res = await t.gql(OVERVIEW);
      expect(res.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(res.status).toBe(401);
    });

    it('refuses a token signed with another secret, an expired token and one without a subject', async () => {
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('mallory')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-another-secret-another'));
      const expired = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('late')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      const anonymous = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      for (const token of [forged, expired, anonymous, 'not.a.token']) {
        const res = await t.gql(OVERVIEW, {}, { as: token });
        expect(res.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      }
      const [{ count }] = await t.dataSource.query(`SELECT count(*)::int AS count FROM accounts`);
      expect(count).toBe(0);
    });
  });

  it('creates an account on first sight with the FREE plan, its allowance and a monthly period', async () => {
    const before = Date.now();
    const res = await t.gql(OVERVIEW, {}, { as: 'alice' });
    expect(res.errors).toBeUndefined();
    const billing = res.data!.billing;
    expect(billing.accountId).toBe('alice');
    expect(billing.subscription.plan.code).toBe('FREE');
    expect(billing.subscription.status).toBe('ACTIVE');
    expect(billing.subscription.cancelAtPeriodEnd).toBe(false);
    expect(billing.subscription.pendingPlan).toBeNull();
    const start = new Date(billing.subscription.currentPeriodStart);
    const end = new Date(billing.subscription.currentPeriodEnd);
    expect(start.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const expectedEnd = new Date(start);
    expectedEnd.setUTCMonth(start.getUTCMonth() + 1);
    if (expectedEnd.getUTCDate() !== start.getUTCDate()) expectedEnd.setUTCDate(0);
    expect(end.toISOString()).toBe(expectedEnd.toISOString());

    expect(billing.balances).toEqual([
      {
        creditType: 'MESSAGE',
        limit: 10,
        used: 0,
        held: 0,
        remaining: 10,
        percentUsed: 0,
        level: 'OK',
        resetsAt: end.toISOString(),
      },
      {
        creditType: 'INTEGRATION',
        limit: 100,
        used: 0,
        held: 0,
        remaining: 100,
        percentUsed: 0,
        level: 'OK',
        resetsAt: end.toISOString(),
      },
      { creditType: 'PROJECT', limit: 3, used: 0, held: 0, remaining: 3, percentUsed: 0, level: 'OK', resetsAt: null },
    ]);
    expect(billing.wallet).toEqual({ balance: 0, totalPurchased: 0, totalUsed: 0 });
    expect(billing.warnings).toEqual([]);
    expect(billing.upgradeUrl).toBe(`${TEST_APP_URL}/billing/plans`);
    expect(billing.purchaseUrl).toBe(`${TEST_APP_URL}/billing/credits`);
    await t.expectLedgerReconciles();
  });

  it('creates an account once when many first requests arrive together', async () => {
    const responses = await Promise.all(Array.from({ length: 25 }, () => t.gql(OVERVIEW, {}, { as: 'bob' })));
    for (const res of responses) expect(res.errors).toBeUndefined();
    const [accounts] = await t.dataSource.query(`SELECT count(*)::int AS n FROM accounts WHERE id = 'bob'`);
    const grants = await t.dataSource.query(
      `SELECT pool, count(*)::int AS n, sum(amount)::int AS total FROM credit_grants WHERE account_id = 'bob'
        GROUP BY pool ORDER BY pool`,
    );
    expect(accounts.n).toBe(1);
    expect(grants).toEqual([
      { pool: 'INTEGRATION', n: 1, total: 100 },
      { pool: 'MESSAGE', n: 1, total: 10 },
    ]);
    await t.expectLedgerReconciles();
  });

  it("answers billing for another account to an admin only; a user may name their own, naming another's is FORBIDDEN", async () => {
    await t.gql(OVERVIEW, {}, { as: 'dora' });
    await t.app.get(CreditsService).grant({ accountId: 'dora', amount: 7, kind: 'ADMIN', sourceKey: 'dora-wallet' });
    const owner = await t.gql(OVERVIEW, {}, { as: 'dora' });
    expect(owner.data!.billing).toMatchObject({ accountId: 'dora', wallet: { balance: 7 } });

    const admin = await t.gql(OVERVIEW_OF, { accountId: 'dora' }, { as: 'auditor', roles: [Role.ADMIN] });
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.billing).toEqual(owner.data!.billing);

    const ownNamed = await t.gql(OVERVIEW_OF, { accountId: 'dora' }, { as: 'dora' });
    expect(ownNamed.errors).toBeUndefined();
    expect(ownNamed.data!.billing).toEqual(owner.data!.billing);

    const snooping = await t.gql(OVERVIEW_OF, { accountId: 'dora' }, { as: 'eve' });
    expect(snooping.data).toBeNull();
    expect(snooping.errors![0].extensions.code).toBe('FORBIDDEN');
    expect(snooping.status).toBe(403);

    // Reading an account nobody has used yet does not create it: an admin gets NOT_FOUND.
    const unknown = await t.gql(OVERVIEW_OF, { accountId: 'nobody-yet' }, { as: 'auditor', roles: [Role.ADMIN] });
    expect(unknown.data).toBeNull();
    expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');
    expect(await t.dataSource.query(`SELECT id FROM accounts WHERE id = 'nobody-yet'`)).toEqual([]);
    await t.expectLedgerReconciles();
  });

  it('keeps the committed schema.graphql equal to the schema the code generates', () => {
    const { schema } = t.app.get(GraphQLSchemaHost);
    const generated = printSchema(lexicographicSortSchema(schema));
    const committed = readFileSync(SCHEMA_FILE, 'utf8').replace(/^#.*\n/gm, '').trim();
    expect(committed).toBe(generated.trim());
  });
});

describe('bad input over GraphQL (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const CONSUME = `mutation ($input: ConsumeCreditsInput!) {
    consumeCredits(input: $input) { allowed charged }
  }`;

  it.each([
    ['a negative amount', { creditType: 'MESSAGE', amount: -1, idempotencyKey: 'a' }],
    ['zero', { creditType: 'MESSAGE', amount: 0, idempotencyKey: 'b' }],
    ['a fraction', { creditType: 'MESSAGE', amount: 1.5, idempotencyKey: 'c' }],
    ['an amount beyond Int', { creditType: 'MESSAGE', amount: 2 ** 40, idempotencyKey: 'd' }],
    ['an unknown type', { creditType: 'GOLD', amount: 1, idempotencyKey: 'e' }],
    ['an oversized key', { creditType: 'MESSAGE', amount: 1, idempotencyKey: 'k'.repeat(256) }],
    ['an empty key', { creditType: 'MESSAGE', amount: 1, idempotencyKey: '' }],
    ['an oversized description', { creditType: 'MESSAGE', amount: 1, idempotencyKey: 'f', description: 'd'.repeat(501) }],
    ['a malformed account id', { accountId: 'bad id with spaces', creditType: 'MESSAGE', amount: 1, idempotencyKey: 'g' }],
  ])('refuses %s with a clear client error and writes no ledger row', async (_, input) => {
    await t.gql('{ billing { accountId } }', {}, { as: 'carol' });
    const [{ n: before }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_transactions`);
    const res = await t.gql(CONSUME, { input }, { as: 'carol' });
    expect(res.data?.consumeCredits ?? null).toBeNull();
    expect(res.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message.length).toBeGreaterThan(10);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const [{ n: after }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_transactions`);
    expect(after).toBe(before);
  });
});
