import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { signToken } from '../src/auth/token.service';
import { ReconciliationService } from '../src/credits/reconciliation.service';
import { databaseOptions } from '../src/database/database.options';
import { freePort } from '../src/database/free-port';
import { createTestDatabase } from './support/database';
import { ServiceProcess } from './support/service-process';
import { TEST_JWT_SECRET } from './support/test-app';

/** The compiled service started as a developer starts it: no Stripe keys, in a working directory of its own. */
function developmentService(env: Record<string, string>, workDir: string): ServiceProcess {
  return new ServiceProcess(
    { NODE_ENV: 'development', LOG_LEVEL: 'log', ...env },
    { cwd: workDir, inherit: (name) => name === 'PATH', readyTimeoutMs: 30_000 },
  );
}

/** The page's form actions and button labels, in order. */
function buttons(html: string): Array<{ action: string; label: string }> {
  return [...html.matchAll(/<form method="post" action="([^"]+)">(?:<input[^>]*>)*<button type="submit"[^>]*>([^<]+)<\/button><\/form>/g)].map(
    ([, action, label]) => ({ action: action.replace(/&#38;/g, '&'), label }),
  );
}

describe('payments in development: the local Stripe (e2e, real service process)', () => {
  let workDir: string;
  let database: { url: string; drop: () => Promise<void> };
  let service: ServiceProcess;
  let dataSource: DataSource;
  let stripeUrl: string;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'billing-local-stripe-'));
    chmodSync(workDir, 0o755);
    database = await createTestDatabase();
    const stripePort = await freePort();
    stripeUrl = `http://localhost:${stripePort}`;
    service = await developmentService(
      { DATABASE_URL: database.url, APP_URL: 'http://localhost:5173', LOCAL_STRIPE_PORT: String(stripePort) },
      workDir,
    ).start();
    // Its start-up lines, which a worker thread pretty-prints in development, may come after its first answers.
    await service.waitForOutput(/GraphQL ready/);
    dataSource = new DataSource(databaseOptions(database.url, 2));
    await dataSource.initialize();
  }, 90_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await service?.stop();
    await database?.drop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const gql = async <T = any>(account: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (account) headers.authorization = `Bearer ${await signToken(TEST_JWT_SECRET, account)}`;
    const res = await fetch(`${service.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data: T; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const balance = async (account: string) =>
    (await gql<{ billing: { wallet: { balance: number } } }>(account, '{ billing { wallet { balance } } }')).billing.wallet.balance;
  const until = async <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
    for (let i = 0; i < 100; i++) {
      const value = await read();
      if (done(value)) return value;
      await sleep(100);
    }
    throw new Error(`${what} did not happen:\n${service.output.slice(-3000)}`);
  };
  const expectReconciles = async () => expect((await new ReconciliationService(dataSource).reconcile()).problems).toEqual([]);
  const page = async (url: string, form?: string) => {
    const res = await fetch(url, form === undefined ? { redirect: 'manual' } : { method: 'POST', redirect: 'manual' });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  };
  const buy = async (account: string) => {
    const { purchaseCredits } = await gql<{ purchaseCredits: { url: string; sessionId: string } }>(
      account,
      'mutation { purchaseCredits(packageId: "popular") { url sessionId } }',
    );
    return purchaseCredits;
  };
  const press = async (checkoutPage: string, label: string) => {
    const found = buttons(checkoutPage).find((candidate) => candidate.label === label);
    if (!found) throw new Error(`no "${label}" button in:\n${checkoutPage}`);
    return page(new URL(found.action, stripeUrl).toString(), '');
  };

  it('says clearly, in the log and over GraphQL, that payments are simulated', async () => {
    expect(service.output).toMatch(/Payments are simulated by a local Stripe at http:\/\/localhost:\d+ \(no STRIPE_SECRET_KEY\): nothing is charged/);
    expect(await gql(null, '{ paymentsSimulated }')).toEqual({ paymentsSimulated: true });
  });

  it('Pay on its checkout page credits the wallet through signed webhooks, then returns to the success URL', async () => {
    const session = await buy('dev-pay');
    expect(session.url).toBe(`${stripeUrl}/checkout/${session.sessionId}`);
    const checkout = await page(session.url);
    expect(checkout.status).toBe(200);
    expect(checkout.html).toContain('Simulated payment — nothing is charged');
    expect(checkout.html).toContain('$35.00');
    expect(buttons(checkout.html).map((button) => button.label)).toEqual(['Pay', 'Decline', 'Needs 3-D Secure']);

    const paid = await press(checkout.html, 'Pay');
    expect(paid.status).toBe(303);
    expect(paid.location).toBe(`http://localhost:5173/billing/credits?purchase=success&session_id=${session.sessionId}`);
    expect(await until(() => balance('dev-pay'), (value) => value === 1000, 'crediting')).toBe(1000);
    // Accepted by the service's own signature check, each event once.
    // The wallet is credited by the first of them; the others follow.
    const events = await until(
      (): Promise<Array<{ type: string; outcome: string }>> => dataSource.query(`SELECT type, outcome FROM stripe_events`),
      (rows) => rows.length === 3,
      'the three deliveries',
    );
    expect(events.map((event) => event.type).sort()).toEqual(['charge.succeeded', 'checkout.session.completed', 'payment_intent.succeeded']);
    expect(events.filter((event) => event.outcome === 'APPLIED')).toHaveLength(1);
    await expectReconciles();
    // The session is closed: a second Pay charges nothing.
    expect((await page(session.url)).status).toBe(410);
  });

  it('Decline leaves the wallet as it was and links back to the cancel URL', async () => {
    const session = await buy('dev-decline');
    const declined = await press((await page(session.url)).html, 'Decline');
    expect(declined.status).toBe(402);
    expect(declined.html).toContain('Your card was declined.');
    expect(declined.html).toContain('href="http://localhost:5173/billing/credits?purchase=canceled"');
    await sleep(500);
    expect(await balance('dev-decline')).toBe(0);
    const [purchase] = await dataSource.query(`SELECT status FROM credit_purchases WHERE account_id = 'dev-decline'`);
    expect(purchase.status).toBe('PENDING');
  });

  it('Needs 3-D Secure asks again; Complete authentication credits, Fail authentication does not', async () => {
    const failing = await buy('dev-3ds-fail');
    const failStep = await press((await page(failing.url)).html, 'Needs 3-D Secure');
    expect(buttons(failStep.html).map((button) => button.label)).toEqual(['Complete authentication', 'Fail authentication']);
    const failed = await press(failStep.html, 'Fail authentication');
    expect(failed.status).toBe(402);

    const session = await buy('dev-3ds');
    const step = await press((await page(session.url)).html, 'Needs 3-D Secure');
    const done = await press(step.html, 'Complete authentication');
    expect(done.status).toBe(303);
    expect(await until(() => balance('dev-3ds'), (value) => value === 1000, 'crediting')).toBe(1000);
    expect(await balance('dev-3ds-fail')).toBe(0);
    await expectReconciles();
  });

  it("changePlan's checkout, paid, makes the account STARTER with STARTER's limits", async () => {
    const { changePlan } = await gql(
      'dev-plan',
      'mutation { changePlan(plan: STARTER) { checkoutUrl } }',
    );
    const checkout = await page(changePlan.checkoutUrl);
    expect(checkout.html).toContain('per month');
    const paid = await press(checkout.html, 'Pay');
    expect(paid.location).toMatch(/^http:\/\/localhost:5173\/billing\/plans\?checkout=success&session_id=cs_test_/);
    const overview = await until(
      () => gql('dev-plan', '{ billing { subscription { plan { code } status } balances { creditType limit } } }'),
      (data) => data.billing.subscription.plan.code === 'STARTER',
      'the upgrade',
    );
    const { plans } = await gql(null, '{ plans { code limits { creditType limit } } }');
    const starter = plans.find((plan: { code: string }) => plan.code === 'STARTER');
    expect(overview.billing.subscription.status).toBe('ACTIVE');
    for (const limit of starter.limits) {
      expect(overview.billing.balances.find((entry: { creditType: string }) => entry.creditType === limit.creditType).limit).toBe(limit.limit);
    }
    const invoices: Array<{ outcome: string }> = await dataSource.query(`SELECT outcome FROM stripe_events WHERE type = 'invoice.paid'`);
    expect(invoices.map((row) => row.outcome)).toContain('APPLIED');
  });

  it("the admin panel's Refund takes the credits back", async () => {
    const admin = await page(`${stripeUrl}/`);
    expect(admin.status).toBe(200);
    const payment = (await dataSource.query(
      `SELECT stripe_payment_intent_id AS id FROM credit_purchases WHERE account_id = 'dev-pay'`,
    ))[0].id as string;
    const refund = buttons(admin.html).find((button) => button.action === `/admin/payments/${payment}/refund` && button.label === 'Refund (full)');
    expect(refund).toBeDefined();
    const labels = new Set(buttons(admin.html).map((button) => button.label));
    for (const label of ['Refund (full)', 'Refund half', 'Dispute', 'Renew now', 'Fail next renewal payment', 'Cancel now']) {
      expect(labels).toContain(label);
    }
    const res = await fetch(`${stripeUrl}${refund!.action}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'portion=full',
    });
    expect(res.status).toBe(303);
    expect(await until(() => balance('dev-pay'), (value) => value === 0, 'the refund')).toBe(0);
    const [purchase] = await dataSource.query(`SELECT status FROM credit_purchases WHERE account_id = 'dev-pay'`);
    expect(purchase.status).toBe('REFUNDED');
    await expectReconciles();
  });

  it("the admin panel's Renew now starts the next paid period, and Cancel now returns the account to FREE", async () => {
    const subscription = (await dataSource.query(`SELECT stripe_subscription_id AS id FROM accounts WHERE id = 'dev-plan'`))[0].id as string;
    const read = () => gql('dev-plan', '{ billing { subscription { plan { code } currentPeriodStart currentPeriodEnd } } }');
    const before = (await read()).billing.subscription;
    const post = (action: string) => fetch(`${stripeUrl}/admin/subscriptions/${subscription}/${action}`, { method: 'POST', redirect: 'manual' });
    expect((await post('renew')).status).toBe(303);
    const renewed = await until(read, (data) => data.billing.subscription.currentPeriodStart === before.currentPeriodEnd, 'the renewal');
    expect(renewed.billing.subscription.plan.code).toBe('STARTER');
    expect((await post('cancel')).status).toBe(303);
    await until(read, (data) => data.billing.subscription.plan.code === 'FREE', 'the cancellation');
    await expectReconciles();
  });

  it('refuses to start in production with the local Stripe asked for, in one line', async () => {
    const refused = developmentService({ DATABASE_URL: database.url, NODE_ENV: 'production', LOCAL_STRIPE: 'true' }, workDir);
    const code = await refused.exited();
    expect(code).not.toBe(0);
    expect(refused.output.trim().split('\n')).toEqual([expect.stringMatching(/^Refusing to start: LOCAL_STRIPE=true simulates payments/)]);
  });
});
