import request from 'supertest';
import { Role } from '../src/auth/role.enum';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { checkoutSessionObject, postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { TestApp } from './support/test-app';

describe('REST endpoints of the earlier frontends (e2e)', () => {
  let t: TestApp;
  let stripe: LocalStripeServer;

  const get = async (path: string, accountId: string, roles: Role[] = []) =>
    request(t.server).get(path).set('authorization', `Bearer ${await t.token(accountId, roles)}`);
  const post = async (path: string, accountId: string, body: object) =>
    request(t.server).post(path).set('authorization', `Bearer ${await t.token(accountId)}`).send(body);

  beforeAll(async () => {
    ({ t, stripe } = await startStripeTestApp());
    // "dora" buys the starter package and uses 3 messages.
    const purchase = await post('/api/credits/purchase', 'dora', { packageId: 'starter' });
    const session = stripe.sessions.get(purchase.body.sessionId);
    await postWebhook(t, stripeEvent('checkout.session.completed', checkoutSessionObject(session)));
    await t.gql(
      `mutation { consumeCredits(input: { creditType: MESSAGE, amount: 3, idempotencyKey: "u1" }) { allowed } }`,
      {},
      { as: 'dora' },
    );
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });

  it('requires a bearer token', async () => {
    for (const path of ['/api/credits/balance', '/api/credits/history', '/api/usage']) {
      const res = await request(t.server).get(path);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    }
  });

  it('GET /api/credits/balance answers the wallet of the caller, whatever userId says', async () => {
    const own = await get('/api/credits/balance', 'dora');
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ accountId: 'dora', balance: 100, totalPurchased: 100, totalUsed: 0 });
    const snooping = await get('/api/credits/balance?userId=dora', 'eve');
    expect(snooping.body).toEqual({ accountId: 'eve', balance: 0, totalPurchased: 0, totalUsed: 0 });
    const admin = await get('/api/credits/balance?userId=dora', 'ops', [Role.ADMIN]);
    expect(admin.body).toMatchObject({ accountId: 'dora', balance: 100 });
  });

  it('POST /api/credits/purchase takes a packageId or a priceId and answers { sessionId, url, credits }', async () => {
    const byPackage = await post('/api/credits/purchase', 'dora', { packageId: 'power', userId: 'someone-else' });
    expect(byPackage.status).toBe(200);
    expect(byPackage.body).toEqual({ sessionId: expect.stringMatching(/^cs_test_/), url: expect.any(String), credits: 5000 });
    expect(stripe.sessions.get(byPackage.body.sessionId).client_reference_id).toBe('dora');
    const price = [...stripe.prices.values()].find((candidate) => candidate.lookup_key === 'credits_small');
    const byPrice = await post('/api/credits/purchase', 'dora', { priceId: price.id });
    expect(byPrice.body.credits).toBe(500);
    const neither = await post('/api/credits/purchase', 'dora', {});
    expect(neither.status).toBe(400);
    const unknown = await post('/api/credits/purchase', 'dora', { packageId: 'nope' });
    expect(unknown.status).toBe(404);
  });

  it('GET /api/credits/history answers purchases, usage and transactions, newest first, limited', async () => {
    const purchases = await get('/api/credits/history?type=purchases&limit=2', 'dora');
    expect(purchases.body.purchases).toHaveLength(2);
    expect(purchases.body.usage).toBeUndefined();
    const usage = await get('/api/credits/history?type=usage', 'dora');
    expect(usage.body.usage).toEqual([
      expect.objectContaining({ creditType: 'MESSAGE', amount: 3, fromAllowance: 3, fromWallet: 0 }),
    ]);
    const transactions = await get('/api/credits/history?type=transactions&limit=50', 'dora');
    const kinds = transactions.body.transactions.map((row: any) => row.kind);
    expect(kinds[0]).toBe('CONSUME');
    expect(kinds).toEqual(expect.arrayContaining(['PURCHASE', 'GRANT']));
    const all = await get('/api/credits/history', 'dora');
    expect(Object.keys(all.body).sort()).toEqual(['accountId', 'purchases', 'transactions', 'usage']);
    const bad = await get('/api/credits/history?type=everything&limit=5000', 'dora');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('BAD_USER_INPUT');
  });

  it('GET /api/usage answers the billing overview of the caller', async () => {
    const res = await get('/api/usage', 'dora');
    expect(res.status).toBe(200);
    expect(res.body.accountId).toBe('dora');
    expect(res.body.balances.find((balance: any) => balance.creditType === 'MESSAGE')).toMatchObject({
      limit: 10,
      used: 3,
      level: 'OK',
    });
    expect(res.body.wallet.balance).toBe(100);
  });
});
