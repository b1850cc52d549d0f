import { DataSource } from 'typeorm';
import { Role } from '../src/auth/role.enum';
import { signToken } from '../src/auth/token.service';
import { ReconciliationService } from '../src/credits/reconciliation.service';
import { databaseOptions } from '../src/database/database.options';
import { createTestDatabase } from './support/database';
import { ServiceProcess } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { TEST_JWT_SECRET } from './support/test-app';

const CONSUME = `mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed charged replayed } }`;
const RUN = `mutation ($p: ID!, $c: Int!) { runIntegration(projectId: $p, calls: $c) { id calls } }`;

async function post(url: string, query: string, variables: object, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
}

const report = (name: string, figures: Record<string, number>) =>
  process.stdout.write(`[fault test] ${name}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);

describe('crashes (e2e, real service processes)', () => {
  it('keeps every acknowledged charge exactly once across repeated SIGKILLs with client retries', async () => {
    const database = await createTestDatabase();
    const service = new ServiceProcess({ DATABASE_URL: database.url, HOLD_TTL_SECONDS: '5', CREDITS_CRON: '* * * * * *' });
    await service.start();
    const user = await signToken(TEST_JWT_SECRET, 'crash-load');
    const admin = await signToken(TEST_JWT_SECRET, 'ops', [Role.ADMIN]);
    await post(service.url, `mutation { grantCredits(input: { accountId: "crash-load", amount: 1000000, reason: "load", idempotencyKey: "seed", createAccount: true }) { id } }`, {}, admin);
    const project = await post(service.url, `mutation { createProject(name: "load") { id } }`, {}, user);
    const projectId = project.body.data.createProject.id;

    const total = 300;
    const acknowledged = new Map<string, number>();
    let requests = 0;
    let failures = 0;
    let next = 0;
    let kills = 0;
    let stopKilling = false;

    const worker = async () => {
      for (;;) {
        const index = next++;
        if (index >= total) return;
        const key = `charge-${index}`;
        const amount = 1 + (index % 5);
        const guarded = index % 4 === 0;
        for (;;) {
          requests++;
          try {
            const res = guarded
              ? await post(service.url, RUN, { p: projectId, c: amount }, user, { 'idempotency-key': key })
              : await post(service.url, CONSUME, { input: { creditType: 'INTEGRATION', amount, idempotencyKey: key } }, user);
            const ok = guarded ? res.body.data?.runIntegration?.calls === amount : res.body.data?.consumeCredits?.allowed;
            if (ok) {
              acknowledged.set(key, amount);
              break;
            }
          } catch {
            // connection refused or reset while the service is down: retry the same key
          }
          failures++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const killer = async () => {
      while (!stopKilling && kills < 6) {
        await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 300));
        if (stopKilling) break;
        await service.kill('SIGKILL');
        kills++;
        await service.start();
      }
    };

    const killing = killer();
    await Promise.all(Array.from({ length: 8 }, worker));
    stopKilling = true;
    await killing;
    await service.kill('SIGTERM');

    const dataSource = new DataSource(databaseOptions(database.url, 2));
    await dataSource.initialize();
    try {
      const consumed: Array<{ key: string; n: number; amount: number }> = await dataSource.query(
        `SELECT idempotency_key AS key, count(*)::int AS n, sum(amount)::int AS amount FROM credit_usage
          WHERE account_id = 'crash-load' AND idempotency_key LIKE 'charge-%' GROUP BY idempotency_key`,
      );
      const guardedRows: Array<{ key: string; n: number; amount: number }> = await dataSource.query(
        `SELECT substring(h.idempotency_key from 'charge-[0-9]+') AS key, count(*)::int AS n, sum(u.amount)::int AS amount
           FROM credit_holds h JOIN credit_usage u ON u.hold_id = h.id
          WHERE h.account_id = 'crash-load' AND h.status = 'CAPTURED' AND h.idempotency_key LIKE '%charge-%'
          GROUP BY 1`,
      );
      const found = new Map([...consumed, ...guardedRows].map((row) => [row.key, row]));
      const lost = [...acknowledged.keys()].filter((key) => !found.has(key));
      const duplicated = [...found.values()].filter((row) => row.n > 1);
      const wrongAmount = [...acknowledged].filter(([key, amount]) => found.get(key) && found.get(key)!.amount !== amount);
      report('SIGKILL under load', {
        requests,
        failedAttempts: failures,
        kills,
        acknowledged: acknowledged.size,
        found: found.size,
        lost: lost.length,
        duplicated: duplicated.length,
      });
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(acknowledged.size).toBe(total);
      expect(lost).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(wrongAmount).toEqual([]);
      expect(found.size).toBe(total);
      const reconciliation = await new ReconciliationService(dataSource).reconcile();
      expect(reconciliation.problems).toEqual([]);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  }, 120_000);

  it('answers 503 while PostgreSQL is unreachable and recovers by itself', async () => {
    const database = await createTestDatabase();
    const target = new URL(database.url);
    const proxy = await new TcpProxy(target.hostname, Number(target.port)).start();
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    const service = new ServiceProcess({ DATABASE_URL: proxied.toString(), DATABASE_POOL_SIZE: '4' });
    await service.start();
    const user = await signToken(TEST_JWT_SECRET, 'outage');
    const consume = (key: string) =>
      post(service.url, CONSUME, { input: { creditType: 'MESSAGE', amount: 1, idempotencyKey: key } }, user).catch(() => ({
        status: 0,
        body: {} as { data?: any; errors?: any[] },
      }));
    try {
      expect((await consume('before')).body.data.consumeCredits.allowed).toBe(true);

      proxy.cut();
      const during = [];
      for (let i = 0; i < 6; i++) during.push(await consume(`during-${i}`));
      const health = await fetch(`${service.url}/healthz`);
      expect(health.status).toBe(503);
      for (const res of during) {
        if (res.status !== 503) process.stdout.write(`${JSON.stringify(res)}\n${service.log}\n`);
        expect(res.status).toBe(503);
        expect(res.body.errors?.[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
      }

      proxy.restore();
      let recovered = false;
      for (let i = 0; i < 50 && !recovered; i++) {
        const res = await consume('after');
        recovered = res.body.data?.consumeCredits?.allowed === true;
        if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(recovered).toBe(true);
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      report('PostgreSQL outage', { requestsDuringOutage: during.length, answered503: during.filter((r) => r.status === 503).length });
    } finally {
      await service.kill('SIGTERM');
      await proxy.stop();
    }
    const dataSource = new DataSource(databaseOptions(database.url, 2));
    await dataSource.initialize();
    const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM credit_usage WHERE account_id = 'outage'`);
    expect(n).toBe(2);
    expect((await new ReconciliationService(dataSource).reconcile()).problems).toEqual([]);
    await dataSource.destroy();
    await database.drop();
  }, 60_000);
});
