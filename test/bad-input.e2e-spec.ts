import fc from 'fast-check';
import request from 'supertest';
import { Role } from '../src/auth/role.enum';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { postWebhook } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { TestApp } from './support/test-app';

/** Codes a client may get for a request it got wrong; anything else (or a 5xx) fails the property. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'NOT_FOUND',
  'FORBIDDEN',
  'INSUFFICIENT_CREDITS',
  'QUOTA_EXCEEDED',
  'IDEMPOTENCY_CONFLICT',
  'QUERY_TOO_COMPLEX',
  'NO_SUBSCRIPTION',
]);

/** Values of every shape a careless or hostile client might send. */
const anything = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ minLength: 200, maxLength: 2000 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, '', ' ', '0', 'null', '__proto__'),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.uuid(),
);

describe('bad input everywhere (property-based, e2e)', () => {
  let t: TestApp;
  let stripe: LocalStripeServer;
  let projectId: string;
  const accountId = 'fuzzer';

  const ledger = async () => {
    const [row] = await t.dataSource.query(
      `SELECT (SELECT count(*) FROM credit_transactions)::int AS rows,
              (SELECT coalesce(sum(balance + held), 0) FROM credit_balances)::bigint AS total,
              (SELECT count(*) FROM stripe_events)::int AS events`,
    );
    return row;
  };

  /** Sends one operation; a rejected request must be a clear client error that changed nothing. */
  const check = async (query: string, variables: Record<string, unknown>, roles: Role[] = []) => {
    const before = await ledger();
    const res = await t.gql(query, variables, { as: accountId, roles });
    expect(res.status).toBeLessThan(500);
    if (!res.errors) return;
    for (const error of res.errors) {
      expect(CLIENT_CODES).toContain(error.extensions.code);
      expect(error.message.length).toBeGreaterThan(5);
    }
    if (res.data === null || Object.values(res.data).every((value) => value === null)) {
      expect(await ledger()).toEqual(before);
    }
  };

  beforeAll(async () => {
    ({ t, stripe } = await startStripeTestApp());
    const created = await t.gql(`mutation { createProject(name: "fuzzing") { id } }`, {}, { as: accountId });
    projectId = created.data!.createProject.id;
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });

  const runs = { numRuns: 40 };

  it('consumeCredits', () =>
    fc.assert(
      fc.asyncProperty(anything, anything, anything, anything, anything, async (accountIdArg, creditType, amount, key, description) =>
        check(`mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed } }`, {
          input: { accountId: accountIdArg, creditType, amount, idempotencyKey: key, description },
        }),
      ),
      runs,
    ));

  it('grantCredits (as admin)', () =>
    fc.assert(
      fc.asyncProperty(anything, anything, anything, anything, async (target, amount, reason, key) =>
        check(
          `mutation ($input: GrantCreditsInput!) { grantCredits(input: $input) { id } }`,
          { input: { accountId: target, amount, reason, idempotencyKey: key } },
          [Role.ADMIN],
        ),
      ),
      runs,
    ));

  it('createProject, deleteProject, sendChatMessage and runIntegration', () =>
    fc.assert(
      fc.asyncProperty(anything, anything, fc.boolean(), async (first, second, realProject) => {
        await check(`mutation ($name: String!) { createProject(name: $name) { id } }`, { name: first });
        await check(`mutation ($id: ID!) { deleteProject(id: $id) }`, { id: second });
        const project = realProject ? projectId : first;
        await check(`mutation ($p: ID!, $t: String!) { sendChatMessage(projectId: $p, text: $t) { id } }`, {
          p: project,
          t: second,
        });
        await check(`mutation ($p: ID!, $c: Int!) { runIntegration(projectId: $p, calls: $c) { id } }`, {
          p: project,
          c: second,
        });
      }),
      runs,
    ));

  it('purchaseCredits, changePlan and cancelSubscription', () =>
    fc.assert(
      fc.asyncProperty(anything, anything, async (packageId, plan) => {
        await check(`mutation ($id: ID!) { purchaseCredits(packageId: $id) { sessionId } }`, { id: packageId });
        await check(`mutation ($plan: PlanCode!) { changePlan(plan: $plan) { checkoutUrl } }`, { plan });
        await check(`mutation { cancelSubscription { cancelAtPeriodEnd } }`, {});
      }),
      runs,
    ));

  it('history arguments', () =>
    fc.assert(
      fc.asyncProperty(anything, anything, async (first, after) =>
        check(`query ($f: Int, $a: String) { creditTransactions(first: $f, after: $a) { edges { cursor } } }`, {
          f: first,
          a: after,
        }),
      ),
      runs,
    ));

  it('arbitrary request bodies on /graphql', () =>
    fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.json({ maxDepth: 3 })), async (body) => {
        const before = await ledger();
        const res = await request(t.server)
          .post('/graphql')
          .set('content-type', 'application/json')
          .set('authorization', `Bearer ${await t.token(accountId)}`)
          .send(body);
        expect(res.status).toBeLessThan(500);
        expect(await ledger()).toEqual(before);
      }),
      runs,
    ));

  it('signed events of every handled type carrying arbitrary objects', () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'checkout.session.completed',
          'checkout.session.async_payment_succeeded',
          'checkout.session.expired',
          'payment_intent.succeeded',
          'charge.refunded',
          'charge.dispute.created',
          'customer.subscription.created',
          'customer.subscription.updated',
          'customer.subscription.deleted',
          'invoice.paid',
          'invoice.payment_failed',
        ),
        fc.dictionary(
          fc.constantFrom('id', 'mode', 'payment_status', 'payment_intent', 'metadata', 'customer', 'status', 'items', 'amount', 'amount_refunded', 'lines', 'parent', 'subscription'),
          anything,
        ),
        async (type, object) => {
          const before = await ledger();
          const res = await postWebhook(t, { id: `evt_${Math.random().toString(36).slice(2)}`, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object } });
          expect(res.status).toBeLessThan(500);
          expect((await ledger()).total).toEqual(before.total);
        },
      ),
      { numRuns: 150 },
    ));

  it('arbitrary webhook bodies and signatures', () =>
    fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.json({ maxDepth: 3 })), fc.string({ maxLength: 120 }), async (body, signature) => {
        const before = await ledger();
        const unsigned = await request(t.server)
          .post('/webhooks/stripe')
          .set('content-type', 'application/json')
          .set('stripe-signature', signature)
          .send(body);
        expect(unsigned.status).toBe(400);
        // A correctly signed but meaningless event is accepted and ignored, never a 5xx.
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = { id: `evt_fuzz_${signature.length}`, type: body.slice(0, 40), data: { object: {} } };
        }
        const signed = await postWebhook(t, typeof parsed === 'object' && parsed ? parsed : { value: parsed });
        expect(signed.status).toBeLessThan(500);
        expect((await ledger()).total).toEqual(before.total);
      }),
      runs,
    ));
});
