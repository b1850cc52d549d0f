import Stripe from 'stripe';
import { DataSource } from 'typeorm';
import { Role } from '../src/auth/role.enum';
import { signToken } from '../src/auth/token.service';
import { STRIPE_API_VERSION } from '../src/billing/stripe/stripe.client';
import { syncStripeCatalog } from '../src/billing/stripe/stripe-catalog';
import { ReconciliationService } from '../src/credits/reconciliation.service';
import { databaseOptions } from '../src/database/database.options';
import { CreditPackageEntity } from '../src/plans/entities/credit-package.entity';
import { PlanEntity } from '../src/plans/entities/plan.entity';
import { deadlocksCounted, endCurrentPeriods } from './support/boundary';
import { createTestDatabase } from './support/database';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { ServiceProcess } from './support/service-process';
import { checkoutSessionObject, stripeEvent, TEST_WEBHOOK_SECRET } from './support/stripe-events';
import { TEST_JWT_SECRET } from './support/test-app';

const signer = new Stripe('sk_test_signer', { apiVersion: STRIPE_API_VERSION });

async function graphql(url: string, query: string, variables: object, token: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

async function webhook(url: string, event: object): Promise<number> {
  const payload = JSON.stringify(event);
  const header = signer.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET });
  const res = await fetch(`${url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body: payload,
  });
  return res.status;
}

describe('several instances on one database (e2e, real service processes)', () => {
  it('never double-charges or double-grants under mixed load on two instances', async () => {
    const database = await createTestDatabase();
    const stripe = await new LocalStripeServer().start();
    const env = {
      DATABASE_URL: database.url,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      STRIPE_API_BASE: stripe.url,
      CREDITS_CRON: '* * * * * *',
    };
    const instances = [await new ServiceProcess(env).start(), await new ServiceProcess(env).start()];
    const dataSource = new DataSource({ ...databaseOptions(database.url, 4), entities: [PlanEntity, CreditPackageEntity] });
    await dataSource.initialize();
    try {
      await syncStripeCatalog(
        new Stripe(stripe.secretKey, { apiVersion: STRIPE_API_VERSION, host: '127.0.0.1', port: new URL(stripe.url).port, protocol: 'http' }),
        await dataSource.getRepository(PlanEntity).find(),
        await dataSource.getRepository(CreditPackageEntity).find(),
      );
      const users = Array.from({ length: 12 }, (_, i) => `multi-${i}`);
      const tokens = new Map(await Promise.all(users.map(async (user) => [user, await signToken(TEST_JWT_SECRET, user)] as const)));
      const service = await signToken(TEST_JWT_SECRET, 'meter', [Role.SERVICE]);
      const url = (i: number) => instances[i % 2].url;

      // Accounts created on both instances at once, then moved to an ended period so that both crons race to renew.
      await Promise.all(users.flatMap((user) => [0, 1].map((i) => graphql(url(i), '{ billing { accountId } }', {}, tokens.get(user)!))));
      await endCurrentPeriods((sql, parameters) => dataSource.query(sql, parameters), users);

      // Purchases completed by webhooks delivered to both instances, twice each, plus the payment intent event.
      const sessions = [];
      for (const [i, user] of users.slice(0, 6).entries()) {
        const res = await graphql(url(i), `mutation { purchaseCredits(packageId: "starter") { sessionId } }`, {}, tokens.get(user)!);
        sessions.push(stripe.sessions.get(res.data!.purchaseCredits.sessionId));
      }
      const deliveries: Promise<number>[] = [];
      for (const session of sessions) {
        const completed = stripeEvent('checkout.session.completed', checkoutSessionObject(session));
        const intent = stripeEvent('payment_intent.succeeded', { id: session.payment_intent, object: 'payment_intent', metadata: session.metadata });
        for (let i = 0; i < 4; i++) deliveries.push(webhook(url(i), i < 2 ? completed : intent));
      }

      // Charges with idempotency keys, each sent to both instances at the same time (a client retrying elsewhere).
      const charges: Promise<unknown>[] = [];
      for (let n = 0; n < 120; n++) {
        const user = users[n % users.length];
        const input = { accountId: user, creditType: 'INTEGRATION', amount: 1, idempotencyKey: `multi-charge-${n}` };
        for (const i of [0, 1]) {
          charges.push(graphql(url(n + i), `mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed } }`, { input }, service));
        }
      }
      const statuses = await Promise.all(deliveries);
      await Promise.all(charges);
      if (!statuses.every((status) => status === 200)) process.stdout.write(`${statuses.join(",")}\n${instances[0].log}\n${instances[1].log}\n`);
      expect(statuses.every((status) => status === 200)).toBe(true);
      // Both crons tick every second; wait until they have renewed every account (or give up after 20 s).
      for (let waited = 0; waited < 20_000; waited += 250) {
        const [{ due }] = await dataSource.query(
          `SELECT count(*)::int AS due FROM accounts WHERE id = ANY($1) AND current_period_end <= now()`,
          [users],
        );
        if (due === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // one more tick of each, which must grant nothing

      const doubleCharges = await dataSource.query(
        `SELECT idempotency_key, count(*)::int AS n FROM credit_usage WHERE idempotency_key LIKE 'multi-charge-%'
          GROUP BY idempotency_key HAVING count(*) <> 1`,
      );
      const [{ n: charged }] = await dataSource.query(
        `SELECT count(*)::int AS n FROM credit_usage WHERE idempotency_key LIKE 'multi-charge-%'`,
      );
      const purchaseGrants = await dataSource.query(
        `SELECT account_id, count(*)::int AS n, sum(amount)::int AS credits FROM credit_grants
          WHERE kind = 'PURCHASE' GROUP BY account_id ORDER BY account_id`,
      );
      const allowanceGrants = await dataSource.query(
        `SELECT account_id, pool, period_start, count(*)::int AS n FROM credit_grants
          WHERE kind = 'ALLOWANCE' AND account_id = ANY($1) GROUP BY account_id, pool, period_start`,
        [users],
      );
      const [{ renewed }] = await dataSource.query(
        `SELECT count(*)::int AS renewed FROM accounts WHERE id = ANY($1) AND current_period_end > now()
            AND current_period_start > now() - interval '1 minute'`,
        [users],
      );
      process.stdout.write(
        `[fault test] two instances: charges=${charged} (of 120 keys, 240 requests) doubleCharges=${doubleCharges.length} ` +
          `purchases=${purchaseGrants.length} (24 deliveries) renewedAccounts=${renewed}\n`,
      );
      expect(doubleCharges).toEqual([]);
      expect(charged).toBe(120);
      expect(purchaseGrants).toHaveLength(6);
      expect(purchaseGrants.every((row: any) => row.n === 1 && row.credits === 100)).toBe(true);
      expect(allowanceGrants.every((row: any) => row.n === 1)).toBe(true);
      expect(renewed).toBe(users.length);
      // Two periods per account (the first and the renewed one) for MESSAGE and INTEGRATION: 4 grants each.
      expect(allowanceGrants).toHaveLength(users.length * 4);
      expect((await new ReconciliationService(dataSource).reconcile()).problems).toEqual([]);
    } finally {
      for (const instance of instances) await instance.kill('SIGTERM');
      await dataSource.destroy();
      await stripe.stop();
      await database.drop();
    }
  }, 90_000);

  it('answers every charge normally when many meet a renewal on two instances, without a deadlock', async () => {
    const database = await createTestDatabase();
    const instances = [
      await new ServiceProcess({ DATABASE_URL: database.url }).start(),
      await new ServiceProcess({ DATABASE_URL: database.url }).start(),
    ];
    const dataSource = new DataSource({ ...databaseOptions(database.url, 2) });
    await dataSource.initialize();
    const deadlocks = () => deadlocksCounted((sql, parameters) => dataSource.query(sql, parameters));
    try {
      const users = Array.from({ length: 3 }, (_, i) => `boundary-${i}`);
      const tokens = new Map(await Promise.all(users.map(async (user) => [user, await signToken(TEST_JWT_SECRET, user)] as const)));
      const consume = (i: number, user: string, amount: number, key: string) =>
        graphql(
          instances[i % 2].url,
          `mutation ($amount: Int!, $key: String!) {
             consumeCredits(input: { creditType: INTEGRATION, amount: $amount, idempotencyKey: $key }) { allowed } }`,
          { amount, key },
          tokens.get(user)!,
        );
      for (const user of users) expect((await consume(0, user, 1, 'before')).errors).toBeUndefined();
      const before = await deadlocks();
      // The period ends: the charges below renew it on both instances at once, and take each account's new
      // allowance past 80 %, recording usage alerts (rows with a foreign key to the account) as they go.
      await endCurrentPeriods((sql, parameters) => dataSource.query(sql, parameters), users);
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => consume(i, users[i % users.length], 9, `boundary-${i}`)),
      );
      for (const answer of answers) {
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toEqual({ consumeCredits: { allowed: true } });
      }
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(await deadlocks()).toBe(before);
      expect((await new ReconciliationService(dataSource).reconcile()).problems).toEqual([]);
    } finally {
      for (const instance of instances) await instance.kill('SIGTERM');
      await dataSource.destroy();
      await database.drop();
    }
  }, 90_000);
});
