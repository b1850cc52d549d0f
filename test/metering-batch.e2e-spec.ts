import request from 'supertest';
import { Role } from '../src/auth/role.enum';
import { LedgerFunctions } from '../src/credits/ledger-functions';
import { startTestApp, TestApp } from './support/test-app';

const BATCH = `mutation ($input: ConsumeCreditsBatchInput!) {
  consumeCreditsBatch(input: $input) { results { allowed creditType charged fromAllowance fromWallet remaining replayed reason } }
}`;

interface Event {
  accountId?: string;
  creditType: 'MESSAGE' | 'INTEGRATION' | 'PROJECT';
  amount: number;
  idempotencyKey: string;
  description?: string;
}

describe('metering in batches: consumeCreditsBatch and POST /api/usage/events (e2e)', () => {
  let t: TestApp;
  let run = 0;
  const account = () => `meter-${++run}-${Date.now()}`;
  const asService = { as: 'metering-peer', roles: [Role.SERVICE] };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  afterEach(() => t.expectLedgerReconciles());

  const batch = (events: Event[], options: { as?: string; roles?: Role[] } = asService) =>
    t.gql<{ consumeCreditsBatch: { results: Array<Record<string, unknown>> } }>(BATCH, { input: { events } }, options);

  const used = async (accountId: string) =>
    t.dataSource.query(
      `SELECT credit_type AS type, count(*)::int AS events, sum(amount)::int AS amount FROM credit_usage
        WHERE account_id = $1 GROUP BY credit_type ORDER BY credit_type`,
      [accountId],
    );

  it("answers every event on its own, in order per account, as consumeCredits would answer it alone", async () => {
    const [first, second] = [account(), account()];
    // FREE: 10 MESSAGE and 100 INTEGRATION a period, an empty wallet.
    const events: Event[] = [
      { accountId: first, creditType: 'MESSAGE', amount: 6, idempotencyKey: 'e1' },
      { accountId: second, creditType: 'INTEGRATION', amount: 30, idempotencyKey: 'e2' },
      { accountId: first, creditType: 'MESSAGE', amount: 6, idempotencyKey: 'e3' }, // 4 left: refused
      { accountId: first, creditType: 'MESSAGE', amount: 4, idempotencyKey: 'e4' }, // exactly what is left
      { accountId: second, creditType: 'INTEGRATION', amount: 71, idempotencyKey: 'e5' }, // 70 left: refused
      { accountId: second, creditType: 'INTEGRATION', amount: 70, idempotencyKey: 'e6' }, // exactly what is left
    ];
    const res = await batch(events);
    expect(res.errors).toBeUndefined();
    expect(res.data!.consumeCreditsBatch.results).toEqual([
      { allowed: true, creditType: 'MESSAGE', charged: 6, fromAllowance: 6, fromWallet: 0, remaining: 4, replayed: false, reason: null },
      { allowed: true, creditType: 'INTEGRATION', charged: 30, fromAllowance: 30, fromWallet: 0, remaining: 70, replayed: false, reason: null },
      { allowed: false, creditType: 'MESSAGE', charged: 0, fromAllowance: 0, fromWallet: 0, remaining: 4, replayed: false, reason: 'INSUFFICIENT_CREDITS' },
      { allowed: true, creditType: 'MESSAGE', charged: 4, fromAllowance: 4, fromWallet: 0, remaining: 0, replayed: false, reason: null },
      { allowed: false, creditType: 'INTEGRATION', charged: 0, fromAllowance: 0, fromWallet: 0, remaining: 70, replayed: false, reason: 'INSUFFICIENT_CREDITS' },
      { allowed: true, creditType: 'INTEGRATION', charged: 70, fromAllowance: 70, fromWallet: 0, remaining: 0, replayed: false, reason: null },
    ]);
    expect(await used(first)).toEqual([{ type: 'MESSAGE', events: 2, amount: 10 }]);
    expect(await used(second)).toEqual([{ type: 'INTEGRATION', events: 2, amount: 100 }]);
  });

  it('replays events whose key was used with the same input, and refuses only the event whose key was used for another', async () => {
    const accountId = account();
    const events: Event[] = [
      { accountId, creditType: 'INTEGRATION', amount: 5, idempotencyKey: 'k1' },
      { accountId, creditType: 'INTEGRATION', amount: 7, idempotencyKey: 'k2' },
    ];
    await batch(events);
    const again = await batch([...events, { accountId, creditType: 'INTEGRATION', amount: 8, idempotencyKey: 'k1' }, { accountId, creditType: 'INTEGRATION', amount: 1, idempotencyKey: 'k3' }]);
    expect(again.errors).toBeUndefined();
    expect(again.data!.consumeCreditsBatch.results.map(({ allowed, replayed, reason, charged }) => ({ allowed, replayed, reason, charged }))).toEqual([
      { allowed: true, replayed: true, reason: null, charged: 5 },
      { allowed: true, replayed: true, reason: null, charged: 7 },
      { allowed: false, replayed: false, reason: 'IDEMPOTENCY_CONFLICT', charged: 0 },
      { allowed: true, replayed: false, reason: null, charged: 1 },
    ]);
    expect(await used(accountId)).toEqual([{ type: 'INTEGRATION', events: 3, amount: 13 }]);
  });

  it('creates an account met for the first time and charges its events in order', async () => {
    const accountId = account();
    const res = await batch(Array.from({ length: 12 }, (_, i) => ({ accountId, creditType: 'MESSAGE' as const, amount: 1, idempotencyKey: `n${i}` })));
    expect(res.data!.consumeCreditsBatch.results.map((result) => result.allowed)).toEqual([...Array(10).fill(true), false, false]);
    expect(res.data!.consumeCreditsBatch.results.slice(0, 10).map((result) => result.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('sends a batch through group commit: 200 events of 20 accounts in one database call', async () => {
    const accounts = Array.from({ length: 20 }, () => account());
    await batch(accounts.map((accountId, i) => ({ accountId, creditType: 'INTEGRATION' as const, amount: 1, idempotencyKey: `warm${i}` })));
    const calls = jest.spyOn(t.app.get(LedgerFunctions), 'consumeBatch');
    try {
      const events = Array.from({ length: 200 }, (_, i) => ({
        accountId: accounts[i % accounts.length],
        creditType: 'INTEGRATION' as const,
        amount: 1,
        idempotencyKey: `g${i}`,
      }));
      const res = await batch(events);
      expect(res.data!.consumeCreditsBatch.results.every((result) => result.allowed)).toBe(true);
      expect(calls.mock.calls.map(([requests]) => requests.length)).toEqual([200]);
    } finally {
      calls.mockRestore();
    }
    for (const accountId of accounts) expect(await used(accountId)).toEqual([{ type: 'INTEGRATION', events: 11, amount: 11 }]);
  });

  it('refuses the whole batch, charging nothing, when one event names an account a plain user may not charge', async () => {
    const [own, other] = [account(), account()];
    const res = await batch(
      [
        { creditType: 'MESSAGE', amount: 1, idempotencyKey: 'mine' },
        { accountId: other, creditType: 'MESSAGE', amount: 1, idempotencyKey: 'theirs' },
      ],
      { as: own },
    );
    expect(res.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(res.data).toBeNull();
    expect([...(await used(own)), ...(await used(other))]).toEqual([]);
  });

  it('refuses the whole batch, charging nothing, when an event is not well formed, and more than 1,000 events', async () => {
    const accountId = account();
    const good = { accountId, creditType: 'MESSAGE' as const, amount: 1, idempotencyKey: 'ok' };
    for (const events of [
      [good, { ...good, amount: 0, idempotencyKey: 'zero' }],
      [good, { ...good, idempotencyKey: '' }],
      [],
      Array.from({ length: 1001 }, (_, i) => ({ ...good, idempotencyKey: `many${i}` })),
    ]) {
      const res = await batch(events);
      expect({ size: events.length, code: res.errors?.[0].extensions.code }).toEqual({ size: events.length, code: 'BAD_USER_INPUT' });
    }
    expect(await used(accountId)).toEqual([]);
  });

  it('refuses the whole batch, charging nothing, when an event meters PROJECT: only creating and deleting projects moves that quota', async () => {
    const accountId = account();
    const events: Event[] = [
      { accountId, creditType: 'MESSAGE', amount: 1, idempotencyKey: 'chat' },
      { accountId, creditType: 'PROJECT', amount: 1, idempotencyKey: 'quota' },
    ];
    const res = await batch(events);
    expect(res.data).toBeNull();
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events.1' });
    expect(res.errors?.[0].message).toMatch(/^Event 2: PROJECT is a quota/);
    const token = await t.token('metering-peer', [Role.SERVICE]);
    const rest = await request(t.server).post('/api/usage/events').set('authorization', `Bearer ${token}`).send({ events });
    expect(rest.status).toBe(400);
    expect(rest.body).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events.1' });
    // Nothing was charged, and the account named was not even created.
    expect(await used(accountId)).toEqual([]);
    expect(await t.dataSource.query(`SELECT id FROM accounts WHERE id = $1`, [accountId])).toEqual([]);
  });

  it('takes the same batch over REST at POST /api/usage/events, and only with a bearer token', async () => {
    const accountId = account();
    const token = await t.token('metering-peer', [Role.SERVICE]);
    const events = [
      { accountId, creditType: 'MESSAGE', amount: 3, idempotencyKey: 'r1', description: 'chat' },
      { accountId, creditType: 'MESSAGE', amount: 8, idempotencyKey: 'r2' },
    ];
    const res = await request(t.server).post('/api/usage/events').set('authorization', `Bearer ${token}`).send({ events });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({ allowed: true, charged: 3, remaining: 7, reason: null }),
      expect.objectContaining({ allowed: false, charged: 0, remaining: 7, reason: 'INSUFFICIENT_CREDITS', message: expect.any(String) }),
    ]);
    const anonymous = await request(t.server).post('/api/usage/events').send({ events });
    expect(anonymous.status).toBe(401);
    const bad = await request(t.server)
      .post('/api/usage/events')
      .set('authorization', `Bearer ${token}`)
      .send({ events: [{ ...events[0], amount: -1 }] });
    expect(bad.status).toBe(400);
    expect(await used(accountId)).toEqual([{ type: 'MESSAGE', events: 1, amount: 3 }]);
  });
});
