import { Controller, Get, Module, Query } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildSchema, GraphQLError, parse, specifiedRules, validate, ValidationRule } from 'graphql';
import { SignJWT } from 'jose';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Public } from '../src/auth/public.decorator';
import { signToken } from '../src/auth/token.service';
import { failClosed } from '../src/common/graphql-limits';
import { loadConfig } from '../src/config/app-config';
import { freePort } from '../src/database/free-port';
import { createLogger, requestLogging } from '../src/observability/logging';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { postWebhook, stripeEvent } from './support/stripe-events';
import { startStripeTestApp } from './support/stripe-test-app';
import { GuardedTestModule } from './support/guarded-test.module';
import { startTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** A transaction whose connection PostgreSQL drops between two statements, as when the server goes away. */
@Controller('edges-test')
class LostConnectionController {
  static lastError: unknown;

  constructor(private readonly dataSource: DataSource) {}

  /** `via=runner` runs the next statement on the transaction's query runner, otherwise on its entity manager. */
  @Public()
  @Get('lost-connection')
  async lostConnection(@Query('via') via?: string): Promise<{ ok: boolean }> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const [{ pid }] = await manager.query(`SELECT pg_backend_pid() AS pid`);
        await this.dataSource.query(`SELECT pg_terminate_backend($1)`, [pid]);
        await sleep(200);
        await (via === 'runner' ? manager.queryRunner!.query(`SELECT 1`) : manager.query(`SELECT 1`));
        return { ok: true };
      });
    } catch (error) {
      LostConnectionController.lastError = error;
      throw error;
    }
  }
}

@Module({ controllers: [LostConnectionController] })
class LostConnectionModule {}

/** What the ledger and the host hold, to show that a refused request changed nothing. */
async function storedRows(t: TestApp) {
  const [row] = await t.dataSource.query(
    `SELECT (SELECT count(*) FROM projects)::int AS projects,
            (SELECT count(*) FROM chat_messages)::int AS messages,
            (SELECT count(*) FROM credit_holds)::int AS holds,
            (SELECT count(*) FROM credit_usage)::int AS usage,
            (SELECT count(*) FROM credit_transactions)::int AS transactions`,
  );
  return row;
}

describe('edges of the public interfaces (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_MAX_ALIASES: '20', GRAPHQL_MAX_TOKENS: '3000', JWT_MAX_LIFETIME_SECONDS: '86400' }, [
      GuardedTestModule,
      LostConnectionModule,
    ]);
  });
  afterAll(() => t.close());

  describe('GraphQL limits', () => {
    it('item 15: refuses an operation padded past the cost estimator instead of serving it', async () => {
      // Fragments spread many times over: a short text, but far beyond the old estimator's node budget, whose
      // failure then let the operation through.
      const spread = (name: string, times: number) => Array.from({ length: times }, () => `...${name}`).join(' ');
      const res = await t.gql(
        `query { ${spread('F', 300)} } fragment F on Query { ${spread('G', 10)} } fragment G on Query { plans { code name priceCents } }`,
      );
      expect(res.status).toBe(400);
      expect(res.data).toBeNull();
      expect(res.errors![0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    });

    it('item 15: answers a fragment cycle with a 400 validation error', async () => {
      const res = await t.gql(`query { ...A } fragment A on Query { plans { code } ...B } fragment B on Query { ...A }`);
      expect(res.status).toBe(400);
      expect(res.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('item 15: answers an unknown fragment with a 400 validation error', async () => {
      const res = await t.gql(`query { plans { ...Missing } }`);
      expect(res.status).toBe(400);
      expect(res.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const top = await t.gql(`query { ...Missing }`);
      expect(top.status).toBe(400);
      expect(top.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('item 15: refuses more aliases than GRAPHQL_MAX_ALIASES even when the operation is cheap', async () => {
      const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: plans { code }`).join(' ');
      const res = await t.gql(`{ ${aliases} }`);
      expect(res.status).toBe(400);
      expect(res.errors![0].extensions.code).toBe('QUERY_TOO_COMPLEX');
      const allowed = Array.from({ length: 20 }, (_, i) => `a${i}: plans { code }`).join(' ');
      expect((await t.gql(`{ ${allowed} }`)).status).toBe(200);
    });

    it('item 15: refuses an operation of more than GRAPHQL_MAX_TOKENS tokens while parsing it', async () => {
      const padding = Array.from({ length: 3000 }, () => '__typename').join(' ');
      const res = await t.gql(`{ plans { code } ${padding} }`);
      expect(res.status).toBe(400);
      expect(res.errors![0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(res.errors![0].message).toMatch(/tokens/);
    });

    it('item 15: a limit that fails while measuring an operation refuses it', () => {
      const schema = buildSchema('type Query { hello: String }');
      const broken: ValidationRule = () => ({
        OperationDefinition: {
          enter() {
            throw new RangeError('Maximum call stack size exceeded');
          },
        },
      });
      const errors = validate(schema, parse('{ hello }'), [...specifiedRules, failClosed(broken)]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(GraphQLError);
      expect(errors[0].message).toMatch(/could not be measured/);
    });
  });

  describe('tokens', () => {
    it('item 17: refuses a token without exp', async () => {
      const eternal = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('eternal').setIssuedAt().sign(secret);
      const res = await t.gql('{ billing { accountId } }', {}, { as: eternal });
      expect(res.status).toBe(401);
      expect(res.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      const [{ count }] = await t.dataSource.query(`SELECT count(*)::int AS count FROM accounts WHERE id = 'eternal'`);
      expect(count).toBe(0);
    });

    it('item 17: refuses a token that lives longer than JWT_MAX_LIFETIME_SECONDS, with or without iat', async () => {
      const max = 86_400;
      const long = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('long-lived')
        .setIssuedAt()
        .setExpirationTime(now() + max + 3600)
        .sign(secret);
      const noIssuedAt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('long-lived')
        .setExpirationTime(now() + max + 3600)
        .sign(secret);
      const futureIssuedAt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('long-lived')
        .setIssuedAt(now() + max)
        .setExpirationTime(now() + max + 60)
        .sign(secret);
      for (const token of [long, noIssuedAt, futureIssuedAt]) {
        const res = await t.gql('{ billing { accountId } }', {}, { as: token });
        expect(res.status).toBe(401);
        expect(res.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      }
      // What the helpers mint (12 hours) and a token just inside the limit are accepted.
      const helper = await signToken(TEST_JWT_SECRET, 'short-lived');
      const inside = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('short-lived').setExpirationTime(now() + max - 60).sign(secret);
      for (const token of [helper, inside]) {
        const res = await t.gql('{ billing { accountId } }', {}, { as: token });
        expect(res.errors).toBeUndefined();
        expect(res.data!.billing.accountId).toBe('short-lived');
      }
    });
  });

  describe('NUL characters', () => {
    const NUL = 'bad\u0000text';

    it('item 21: refuses NUL in a GraphQL variable or literal with BAD_USER_INPUT and stores nothing', async () => {
      await t.gql('{ billing { accountId } }', {}, { as: 'nul-user' });
      const before = await storedRows(t);
      const attempts = [
        t.gql(`mutation ($name: String!) { createProject(name: $name) { id } }`, { name: NUL }, { as: 'nul-user' }),
        t.gql(`mutation { createProject(name: "bad\\u0000name") { id } }`, {}, { as: 'nul-user' }),
        t.gql(
          `mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed } }`,
          { input: { creditType: 'MESSAGE', amount: 1, idempotencyKey: NUL } },
          { as: 'nul-user' },
        ),
        t.gql(
          `mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed } }`,
          { input: { creditType: 'MESSAGE', amount: 1, idempotencyKey: 'fine', description: NUL } },
          { as: 'nul-user' },
        ),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(400);
        expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      }
      expect(await storedRows(t)).toEqual(before);

      const project = await t.gql(`mutation { createProject(name: "nul-chat") { id } }`, {}, { as: 'nul-user' });
      const projectId = project.data!.createProject.id;
      const afterProject = await storedRows(t);
      const chat = await t.gql(
        `mutation ($p: ID!, $t: String!) { sendChatMessage(projectId: $p, text: $t) { id } }`,
        { p: projectId, t: NUL },
        { as: 'nul-user' },
      );
      expect(chat.status).toBe(400);
      expect(chat.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(await storedRows(t)).toEqual(afterProject);
      await t.expectLedgerReconciles();
    });

    it('item 21: refuses NUL in a REST body, query string or path with BAD_USER_INPUT and charges nothing', async () => {
      const token = await t.token('nul-rest');
      await t.gql('{ billing { accountId } }', {}, { as: 'nul-rest' });
      const before = await storedRows(t);
      const body = await request(t.server).post('/test/notes').set('authorization', `Bearer ${token}`).send({ text: NUL });
      const query = await request(t.server).get('/api/credits/history?type=%00').set('authorization', `Bearer ${token}`);
      const pathParam = await request(t.server).get('/api/credits/bal%00ance').set('authorization', `Bearer ${token}`);
      for (const res of [body, query, pathParam]) {
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('BAD_USER_INPUT');
      }
      expect(await storedRows(t)).toEqual(before);
    });
  });

  describe('database outages', () => {
    it('item 22: a transaction whose connection is lost answers 503 SERVICE_UNAVAILABLE', async () => {
      for (const [via, name] of [
        ['runner', 'QueryRunnerAlreadyReleasedError'],
        ['manager', 'QueryRunnerProviderAlreadyReleasedError'],
      ]) {
        const res = await request(t.server).get(`/edges-test/lost-connection?via=${via}`);
        expect((LostConnectionController.lastError as Error).name).toBe(name);
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
      }
      // The pool recovers by itself.
      expect((await request(t.server).get('/healthz')).status).toBe(200);
    });
  });
});

describe('suggestions while introspection is off (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production' });
  });
  afterAll(() => t.close());

  it('item 18: validation and input errors suggest no names of the schema', async () => {
    const field = await t.gql('{ bilin { accountId } }', {}, { as: 'prober' });
    const argument = await t.gql('{ creditTransactions(frist: 5) { edges { cursor } } }', {}, { as: 'prober' });
    const enumLiteral = await t.gql('mutation { changePlan(plan: PR) { checkoutUrl } }', {}, { as: 'prober' });
    const enumVariable = await t.gql('mutation ($plan: PlanCode!) { changePlan(plan: $plan) { checkoutUrl } }', { plan: 'PR' }, { as: 'prober' });
    const inputField = await t.gql(
      'mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed } }',
      { input: { creditType: 'MESSAGE', amout: 1, idempotencyKey: 'k' } },
      { as: 'prober' },
    );
    for (const res of [field, argument, enumLiteral, enumVariable, inputField]) {
      expect(res.status).toBe(400);
      expect(res.errors!.length).toBeGreaterThan(0);
      for (const error of res.errors!) expect(error.message).not.toMatch(/did you mean/i);
    }
  });
});

describe('webhook signatures from the future (e2e)', () => {
  let t: TestApp;
  let stripe: LocalStripeServer;
  beforeAll(async () => {
    ({ t, stripe } = await startStripeTestApp());
  });
  afterAll(async () => {
    await t.close();
    await stripe.stop();
  });

  it('item 17: refuses a webhook signed more than the tolerance ahead and stores nothing', async () => {
    const ahead = await postWebhook(t, stripeEvent('customer.created', { id: 'cus_future' }), { timestamp: now() + 3600 });
    expect(ahead.status).toBe(400);
    expect(ahead.body.code).toBe('INVALID_SIGNATURE');
    const [{ count }] = await t.dataSource.query(`SELECT count(*)::int AS count FROM stripe_events`);
    expect(count).toBe(0);
    // A clock a little ahead of ours is within the tolerance.
    const skewed = await postWebhook(t, stripeEvent('customer.created', { id: 'cus_skewed' }), { timestamp: now() + 60 });
    expect(skewed.status).toBe(200);
  });
});

describe('rate limits (e2e)', () => {
  const PROJECTS = '{ projects { id } }';
  const withApp = async (env: Record<string, string>, work: (t: TestApp) => Promise<void>) => {
    const t = await startTestApp({ RATE_LIMIT_IP_PER_MINUTE: '0', RATE_LIMIT_ACCOUNT_PER_MINUTE: '0', ...env });
    try {
      await work(t);
    } finally {
      await t.close();
    }
  };

  it('item 19: rotating X-Forwarded-For does not escape the per-IP limit unless the proxy is trusted', async () => {
    await withApp({ RATE_LIMIT_IP_PER_MINUTE: '3' }, async (t) => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await t.gql('{ plans { code } }', {}, { headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    });
    await withApp({ RATE_LIMIT_IP_PER_MINUTE: '3', TRUSTED_PROXIES: 'loopback' }, async (t) => {
      for (let i = 0; i < 6; i++) {
        expect((await t.gql('{ plans { code } }', {}, { headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } })).status).toBe(200);
      }
      const same = [];
      for (let i = 0; i < 4; i++) same.push((await t.gql('{ plans { code } }', {}, { headers: { 'x-forwarded-for': '198.51.100.7' } })).status);
      expect(same).toEqual([200, 200, 200, 429]);
    });
  });

  it('item 19: TRUSTED_PROXIES is validated at start and defaults to trusting no proxy', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).trustProxy).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', TRUSTED_PROXIES: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ NODE_ENV: 'test', TRUSTED_PROXIES: 'loopback, 10.0.0.0/8,::1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', '::1']);
    expect(() => loadConfig({ NODE_ENV: 'test', TRUSTED_PROXIES: '10.0.0.0/33,anything' })).toThrow(/TRUSTED_PROXIES/);
  });

  it('item 19: an operation counts once however many fields it has, and a refused one is refused whole', async () => {
    await withApp({ RATE_LIMIT_ACCOUNT_PER_MINUTE: '4' }, async (t) => {
      const wide = `{ a: projects { id } b: projects { id } c: projects { id } billing { accountId } }`;
      for (let i = 0; i < 4; i++) {
        const res = await t.gql(wide, {}, { as: 'wide' });
        expect(res.status).toBe(200);
        expect(res.errors).toBeUndefined();
      }
      const refused = await t.gql(wide, {}, { as: 'wide' });
      expect(refused.status).toBe(429);
      expect(refused.data).toBeNull();
      expect(new Set(refused.errors!.map((error) => error.extensions.code))).toEqual(new Set(['TOO_MANY_REQUESTS']));
    });
  });

  it('item 19: answers 429 with a standard Retry-After header', async () => {
    await withApp({ RATE_LIMIT_ACCOUNT_PER_MINUTE: '1' }, async (t) => {
      const token = await t.token('impatient');
      const call = () =>
        request(t.server).post('/graphql').set('authorization', `Bearer ${token}`).send({ query: PROJECTS });
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    });
  });

  it('health checks and Stripe\'s webhook are exempt from the per-IP limit', async () => {
    await withApp({ RATE_LIMIT_IP_PER_MINUTE: '2' }, async (t) => {
      const health = [];
      for (let i = 0; i < 5; i++) health.push((await request(t.server).get('/healthz')).status);
      expect(health).toEqual(Array(5).fill(200));
      // Unsigned deliveries are refused by the signature check (400 without Stripe configured: 503), never by the limit.
      const webhook = [];
      for (let i = 0; i < 5; i++) webhook.push((await request(t.server).post('/webhooks/stripe').send({})).status);
      expect(webhook).not.toContain(429);
      // The API itself is still limited.
      const api = [];
      for (let i = 0; i < 3; i++) api.push((await t.gql('{ plans { code } }')).status);
      expect(api).toEqual([200, 200, 429]);
    });
  });

  it('item 19: a flood of requests with bad tokens from one IP gets 429', async () => {
    await withApp({ RATE_LIMIT_IP_PER_MINUTE: '5' }, async (t) => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await t.gql(PROJECTS, {}, { as: `not.a.token${i}` })).status);
      expect(statuses.slice(0, 5)).toEqual(Array(5).fill(401));
      expect(statuses.slice(5)).toEqual(Array(5).fill(429));
      const [{ count }] = await t.dataSource.query(`SELECT count(*)::int AS count FROM accounts`);
      expect(count).toBe(0);
    });
  });
});

describe('request logs (e2e)', () => {
  it('item 20: a logged request URL carries no credential, and a line carries no header', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'log' });
    const logRequest = requestLogging(createLogger(config, sink));
    const server = http.createServer((req, res) => logRequest(req, res, () => res.end('ok')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const token = await signToken(TEST_JWT_SECRET, 'leaky');
    try {
      await request(server).get(`/graphql?access_token=${token}&query=%7Bplans%7Bcode%7D%7D`);
      await request(server).get(`/api/usage?api_key=sk_live_abcdef&userId=dora`);
      await request(server).get(`/callback/${token}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const log = lines.join('');
    expect(lines).toHaveLength(3);
    // One line each, with what an operator needs and no header.
    const first = JSON.parse(lines[0]);
    expect(Object.keys(first).sort()).toEqual(['level', 'method', 'ms', 'msg', 'path', 'reqId', 'status', 'time']);
    expect(first).toMatchObject({ method: 'GET', status: 200, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(log).not.toContain(token.split('.')[1]);
    expect(log).not.toContain('sk_live_abcdef');
    expect(log).toContain('access_token=[redacted]');
    expect(log).toContain('userId=dora');
  });
});

describe('embedded PostgreSQL supervision (e2e, real service process)', () => {
  let child: ChildProcess | undefined;
  let workDir: string | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('item 22: when its embedded PostgreSQL dies, the service starts it again and serves', async () => {
    // Its own working directory, so the embedded cluster (.data/postgres) is a throw-away one.
    workDir = mkdtempSync(path.join(tmpdir(), 'billing-embedded-'));
    chmodSync(workDir, 0o755);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    child = spawn(process.execPath, [path.resolve(__dirname, '..', 'dist', 'src', 'main.js')], {
      cwd: workDir,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'warn',
        PORT: String(port),
        DATABASE_URL: '',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const healthy = async (seconds: number) => {
      for (let i = 0; i < seconds * 10; i++) {
        if (child!.exitCode !== null) throw new Error(`the service exited (${child!.exitCode}):\n${output.slice(-3000)}`);
        const res = await fetch(`${url}/healthz`).catch(() => null);
        if (res?.ok) return true;
        await sleep(100);
      }
      return false;
    };
    expect(await healthy(90)).toBe(true);
    const token = await signToken(TEST_JWT_SECRET, 'embedded');
    const consume = async (key: string) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `mutation { consumeCredits(input: { creditType: MESSAGE, amount: 1, idempotencyKey: "${key}" }) { allowed } }`,
        }),
      });
      return (await res.json()) as { data?: { consumeCredits?: { allowed: boolean } } };
    };
    expect((await consume('before')).data?.consumeCredits?.allowed).toBe(true);

    const lockFile = path.join(workDir, '.data', 'postgres', 'postmaster.pid');
    const postmaster = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
    process.kill(postmaster, 'SIGKILL');
    await sleep(300);
    expect((await fetch(`${url}/healthz`)).status).toBe(503);

    expect(await healthy(30)).toBe(true);
    expect((await consume('after')).data?.consumeCredits?.allowed).toBe(true);
    const client = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${readFileSync(lockFile, 'utf8').split('\n')[3]}/billing` });
    await client.connect();
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM credit_usage WHERE account_id = 'embedded'`);
    await client.end();
    expect(rows[0].n).toBe(2);
  }, 150_000);
});
