import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { gracefulShutdown } from '../src/app.setup';
import { Role } from '../src/auth/role.enum';
import { GuardedTestModule } from './support/guarded-test.module';
import { startTestApp, TEST_APP_URL, TestApp } from './support/test-app';

describe('production hardening (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_ACCOUNT_PER_MINUTE: '30', RATE_LIMIT_IP_PER_MINUTE: '200', BODY_LIMIT_BYTES: '16384' });
  });
  afterAll(() => t.close());

  it('answers health without a token, with a database check', async () => {
    const res = await request(t.server).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });

  it('serves Prometheus metrics to the admin and service roles only', async () => {
    await t.gql(`mutation { consumeCredits(input: { creditType: MESSAGE, amount: 2, idempotencyKey: "m" }) { allowed } }`, {}, { as: 'metered' });
    await t.gql(`mutation { consumeCredits(input: { creditType: MESSAGE, amount: 50, idempotencyKey: "n" }) { allowed } }`, {}, { as: 'metered' });
    const anonymous = await request(t.server).get('/metrics');
    expect(anonymous.status).toBe(401);
    const user = await request(t.server).get('/metrics').set('authorization', `Bearer ${await t.token('metered')}`);
    expect(user.status).toBe(403);
    const res = await request(t.server).get('/metrics').set('authorization', `Bearer ${await t.token('prom', [Role.SERVICE])}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/credits_consumed_total\{type="MESSAGE"\} 2/);
    expect(res.text).toMatch(/credits_refused_total\{type="MESSAGE"\} 1/);
    expect(res.text).toMatch(/credit_holds_open 0/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{.*route="\/graphql"/);
    expect(res.text).toMatch(/stripe_webhook_events_total|# HELP stripe_webhook_events_total/);
  });

  it('gives every response a request id, keeping a sane incoming one', async () => {
    const generated = await request(t.server).get('/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await request(t.server).get('/healthz').set('x-request-id', 'trace-42');
    expect(kept.headers['x-request-id']).toBe('trace-42');
  });

  it('sends security headers and allows CORS only from the configured origin', async () => {
    const res = await request(t.server).options('/graphql').set('origin', TEST_APP_URL).set('access-control-request-method', 'POST');
    expect(res.headers['access-control-allow-origin']).toBe(TEST_APP_URL);
    const foreign = await request(t.server).options('/graphql').set('origin', 'https://evil.example').set('access-control-request-method', 'POST');
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const plain = await request(t.server).get('/healthz');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['x-powered-by']).toBeUndefined();
  });

  it('refuses an alias bomb before running it', async () => {
    const aliases = Array.from({ length: 700 }, (_, i) => `a${i}:plans{code}`).join(' ');
    const bomb = await t.gql(`{ ${aliases} }`);
    expect(bomb.status).toBe(400);
    expect(bomb.errors![0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses an operation above the complexity limit with QUERY_TOO_COMPLEX', async () => {
    const aliases = Array.from({ length: 170 }, (_, i) => `a${i}: plans { code name priceCents }`).join(' ');
    const res = await t.gql(`{ ${aliases} }`);
    expect(res.status).toBe(400);
    expect(res.errors![0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a body above the size limit with 413 and changes nothing', async () => {
    const res = await request(t.server)
      .post('/graphql')
      .set('content-type', 'application/json')
      .send({ query: '{ plans { code } }', padding: 'x'.repeat(20_000) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('limits requests per account', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 35; i++) statuses.push((await t.gql('{ projects { id } }', {}, { as: 'chatty' })).status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(5);
    const error = await t.gql('{ projects { id } }', {}, { as: 'chatty' });
    expect(error.errors![0].extensions.code).toBe('TOO_MANY_REQUESTS');
    // Another account from the same address is not affected.
    expect((await t.gql('{ projects { id } }', {}, { as: 'quiet' })).status).toBe(200);
  });
});

describe('production configuration (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production', RATE_LIMIT_IP_PER_MINUTE: '5', GRAPHQL_MAX_DEPTH: '2' });
  });
  afterAll(() => t.close());

  it('refuses operations nested deeper than the limit', async () => {
    const res = await t.gql('{ billing { subscription { plan { code } } } }', {}, { as: 'deep' });
    expect(res.status).toBe(400);
    expect(res.errors![0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors![0].message).toMatch(/depth limit of 2/);
  });

  it('hides introspection unless enabled', async () => {
    const res = await t.gql('{ __schema { queryType { name } } }');
    expect(res.errors?.[0].message).toMatch(/introspection/i);
  });

  it('limits requests per IP address, also for anonymous callers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await t.gql('{ plans { code } }')).status);
    expect(statuses.slice(0, 5).every((status) => status === 200)).toBe(true);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
  });
});

describe('graceful shutdown (e2e)', () => {
  it('finishes in-flight requests, releases the holds of those it cannot wait for, and closes', async () => {
    const t = await startTestApp({ SHUTDOWN_GRACE_MS: '400' }, [GuardedTestModule]);
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    const { port } = t.server.address() as AddressInfo;
    const post = async (query: string, accountId: string) => {
      const token = await t.token(accountId);
      return new Promise<{ status: number; body: any }>((resolve) => {
        const req = http.request(
          { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
          (res) => {
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body || 'null') }));
          },
        );
        req.on('error', () => resolve({ status: 0, body: null }));
        req.end(JSON.stringify({ query }));
      });
    };
    await t.gql('{ billing { accountId } }', {}, { as: 'quick' });
    await t.gql('{ billing { accountId } }', {}, { as: 'slow' });
    const quick = post('mutation { slowMessage(ms: 150) }', 'quick');
    const slow = post('mutation { slowMessage(ms: 1500) }', 'slow');
    await new Promise((resolve) => setTimeout(resolve, 60));
    const dataSource = t.dataSource;
    const stopped = gracefulShutdown(t.app, t.config);
    expect((await quick).body).toMatchObject({
      data: { slowMessage: true },
      extensions: { credits: [{ field: 'slowMessage', status: 'CHARGED' }] },
    });
    await stopped;
    await slow;
    // The database is still there: the app closed its own pool, so read through a fresh connection.
    const { Client } = await import('pg');
    const client = new Client({ connectionString: t.databaseUrl });
    await client.connect();
    const { rows } = await client.query(
      `SELECT account_id, status FROM credit_holds ORDER BY account_id`,
    );
    await client.end();
    expect(rows).toEqual([
      { account_id: 'quick', status: 'CAPTURED' },
      { account_id: 'slow', status: 'RELEASED' },
    ]);
    expect(dataSource.isInitialized).toBe(false);
    await t.close();
  });
});
