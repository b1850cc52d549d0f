import { jwtVerify } from 'jose';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AccountsService } from '../src/accounts/accounts.service';
import { freePort } from '../src/database/free-port';
import { createEmptyDatabase } from './support/database';
import { LocalStripeServer } from '../src/billing/local-stripe/local-stripe.server';
import { startTestApp, TEST_JWT_SECRET, TestApp } from './support/test-app';

const DIST = path.resolve(__dirname, '..', 'dist', 'scripts');
const DAY_MS = 86_400_000;

/** npm script name -> compiled file (what package.json runs). */
const SCRIPTS: Array<[string, string]> = [
  ['token', 'token'],
  ['reconcile', 'reconcile'],
  ['credits:renew', 'renew'],
  ['stripe:setup', 'stripe-setup'],
  ['db:migrate', 'migrate'],
  ['db:snapshot', 'db-snapshot'],
];
/** The scripts that read the service's configuration. */
const CONFIGURED = SCRIPTS.filter(([name]) => name !== 'db:snapshot');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** An empty working directory, so that no developer's .env reaches the scripts. */
let workDir: string;

/** Runs a compiled script as `npm run` does, in a clean environment plus `env`. */
function run(file: string, args: string[] = [], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST, `${file}.js`), ...args], {
      cwd: workDir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? workDir,
        NODE_ENV: 'test',
        JWT_SECRET: TEST_JWT_SECRET,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit `code`, and stderr one line (no stack trace) that matches `message`. */
function expectRefusal(outcome: Outcome, code: number, message: RegExp): void {
  expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code, stderr: expect.stringMatching(/^[^\n]+\n$/) });
  expect(outcome.stderr).not.toContain('    at ');
  expect(outcome.stderr).toMatch(message);
}

describe('operator scripts, compiled, as child processes', () => {
  let t: TestApp;
  /** A PostgreSQL address nothing listens on. */
  let unreachable: string;

  beforeAll(async () => {
    if (!existsSync(path.join(DIST, 'token.js'))) throw new Error('dist/scripts is missing: run `npm run build` first');
    workDir = mkdtempSync(path.join(tmpdir(), 'billing-scripts-'));
    unreachable = `postgres://postgres:s3cret@127.0.0.1:${await freePort()}/billing`;
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  describe.each(SCRIPTS)('%s', (name, file) => {
    it('prints its usage on stdout for --help and -h, and exits 0', async () => {
      for (const flag of ['--help', '-h']) {
        const outcome = await run(file, [flag], { DATABASE_URL: unreachable });
        expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: '' });
        expect(outcome.stdout).toMatch(new RegExp(`^usage: npm run ${name}`));
        expect(outcome.stdout).toContain('Exit codes:');
      }
    });

    it('refuses an unknown option with one line and exit 2, before touching anything', async () => {
      const outcome = await run(file, ['--bogus'], { DATABASE_URL: unreachable });
      expectRefusal(outcome, 2, new RegExp(`^${name}: unknown option --bogus \\(usage: npm run ${name}`));
      expect(outcome.stdout).toBe('');
    });

    it('refuses an argument it does not take', async () => {
      const args = name === 'token' || name === 'reconcile' ? ['alice', 'bob'] : ['extra'];
      expectRefusal(await run(file, args, { DATABASE_URL: unreachable }), 2, /unexpected argument "(bob|extra)"/);
    });
  });

  describe.each(CONFIGURED)('%s with bad configuration', (name, file) => {
    it('names the bad variable in one line and exits 2', async () => {
      const args = name === 'token' ? ['alice'] : [];
      const outcome = await run(file, args, { DATABASE_URL: t.databaseUrl, DATABASE_POOL_SIZE: 'abc' });
      expectRefusal(outcome, 2, new RegExp(`^${name}: invalid configuration: DATABASE_POOL_SIZE`));
    });
  });

  describe.each(CONFIGURED.filter(([name]) => name !== 'token'))('%s without its database', (name, file) => {
    it('says so in one line, without the password, and exits 1', async () => {
      const stripe = { STRIPE_SECRET_KEY: 'sk_test_unused', STRIPE_WEBHOOK_SECRET: 'whsec_unused' };
      const outcome = await run(file, [], { DATABASE_URL: unreachable, ...stripe });
      const where = 'postgres://postgres@127\\.0\\.0\\.1:\\d+/billing';
      expectRefusal(outcome, 1, new RegExp(`^${name}: cannot reach ${where}: .*ECONNREFUSED`));
      expect(outcome.stderr).not.toContain('s3cret');
    });
  });

  describe('token', () => {
    it('prints a token alone on stdout that the service accepts', async () => {
      const outcome = await run('token', ['alice']);
      expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: '' });
      expect(outcome.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const { payload } = await jwtVerify(outcome.stdout.trim(), new TextEncoder().encode(TEST_JWT_SECRET));
      expect(payload).toMatchObject({ sub: 'alice', roles: [] });
      expect(payload.exp! - payload.iat!).toBe(12 * 3600);
      expect((await t.gql('{ billing { subscription { plan { code } } } }', {}, { as: outcome.stdout.trim() })).data).toEqual({
        billing: { subscription: { plan: { code: 'FREE' } } },
      });
    });

    it('adds the roles and lifetime asked for, options before or after the account', async () => {
      const outcome = await run('token', ['--admin', '--expires', '30m', 'ops@example.com', '--service']);
      expect(outcome.code).toBe(0);
      const { payload } = await jwtVerify(outcome.stdout.trim(), new TextEncoder().encode(TEST_JWT_SECRET));
      expect(payload).toMatchObject({ sub: 'ops@example.com', roles: ['admin', 'service'] });
      expect(payload.exp! - payload.iat!).toBe(1800);
    });

    it('notes on stderr, not stdout, that it signed with the development secret', async () => {
      const outcome = await run('token', ['alice'], { JWT_SECRET: '', NODE_ENV: 'development' });
      expect(outcome.code).toBe(0);
      expect(outcome.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(outcome.stderr).toBe('note: signed with the built-in development secret (JWT_SECRET is not set)\n');
    });

    it.each<[string[], RegExp]>([
      [[], /an account id is required/],
      [['not an id!'], /"not an id!" is not an account id/],
      [['a'.repeat(129)], /is not an account id/],
      [['alice', '--expires', 'soon'], /--expires "soon" is not a duration/],
      [['alice', '--expires=-1h'], /--expires "-1h" is not a positive duration/],
      [['alice', '--expires', '-1h'], /Option '--expires' argument is ambiguous/],
      [['alice', '--expires', '30d'], /--expires "30d" is longer than JWT_MAX_LIFETIME_SECONDS \(86400 s\)/],
      [['alice', '--expires'], /--expires <value>' argument missing/],
      [['alice', '--admin=yes'], /--admin' does not take an argument/],
    ])('refuses %j with one line and exit 2', async (args, message) => {
      const outcome = await run('token', args);
      expectRefusal(outcome, 2, message);
      expect(outcome.stdout).toBe('');
    });

    it('refuses a secret too short to sign with, and JWKS-only configuration', async () => {
      expectRefusal(
        await run('token', ['alice'], { JWT_SECRET: 'short' }),
        2,
        /^token: invalid configuration: JWT_SECRET must be at least 32 characters long\n$/,
      );
      expectRefusal(
        await run('token', ['alice'], { JWT_SECRET: '', JWT_JWKS_URL: 'https://issuer.example.test/jwks' }),
        2,
        /^token: JWT_SECRET is not set: tokens come from the JWKS issuer/,
      );
    });
  });

  describe('credits:renew', () => {
    const account = async (accountId: string) => {
      const [row] = await t.dataSource.query(
        `SELECT a.current_period_start, a.current_period_end,
                (SELECT count(*)::int FROM credit_transactions WHERE account_id = a.id) AS ledger_rows,
                (SELECT count(*)::int FROM credit_grants WHERE account_id = a.id) AS grants
           FROM accounts a WHERE a.id = $1`,
        [accountId],
      );
      return row as { current_period_start: Date; current_period_end: Date; ledger_rows: number; grants: number };
    };

    it.each<[string[], RegExp]>([
      [['--at', 'tomorrow'], /--at "tomorrow" is not an ISO 8601 date-time/],
      [['--at', '2026-02-30'], /--at "2026-02-30" is not an ISO 8601/],
      [['--at', '2026-03-01T24:00:00Z'], /is not an ISO 8601/],
      [['--at', '2026-03-01T00:00:00'], /--at "2026-03-01T00:00:00" is not an ISO 8601 date-time with an offset/],
      [['--at'], /--at <value>' argument missing/],
      [['--force'], /--force only applies to an --at in the future/],
    ])('refuses %j with one line and exit 2', async (args, message) => {
      expectRefusal(await run('renew', args, { DATABASE_URL: unreachable }), 2, message);
    });

    it('refuses a moment in the future without --force and changes nothing; with --force it renews as of then', async () => {
      await t.app.get(AccountsService).ensure('renew-ahead');
      const before = await account('renew-ahead');
      const ahead = new Date(before.current_period_end.getTime() + DAY_MS).toISOString();

      const refused = await run('renew', ['--at', ahead], { DATABASE_URL: t.databaseUrl });
      expectRefusal(refused, 2, /^credits:renew: --at \S+ is in the future: .*add --force/);
      expect(refused.stdout).toBe('');
      expect(await account('renew-ahead')).toEqual(before);

      const [{ due }] = await t.dataSource.query(`SELECT count(*)::int AS due FROM accounts WHERE current_period_end <= $1`, [
        ahead,
      ]);
      const forced = await run('renew', ['--at', ahead, '--force'], { DATABASE_URL: t.databaseUrl });
      expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: '' });
      expect(forced.stdout).toContain(`Renewal as of ${ahead}: ${due} account(s) renewed`);
      const after = await account('renew-ahead');
      expect(after.current_period_start).toEqual(before.current_period_end);
      expect(after.grants).toBeGreaterThan(before.grants);
      await t.expectLedgerReconciles();
    });

    it('renews as of a past moment, and as of now, without --force', async () => {
      const past = await run('renew', ['--at', '2020-01-01T00:00:00+01:00'], { DATABASE_URL: t.databaseUrl });
      expect({ code: past.code, stderr: past.stderr }).toEqual({ code: 0, stderr: '' });
      expect(past.stdout).toContain('Renewal as of 2019-12-31T23:00:00.000Z: 0 account(s) renewed');
      const now = await run('renew', [], { DATABASE_URL: t.databaseUrl });
      expect(now.code).toBe(0);
      expect(now.stdout).toMatch(/Renewal as of \S+: 0 account\(s\) renewed/);
    });
  });

  describe('reconcile', () => {
    it('reports a ledger that reconciles, for every account or one, and exits 0', async () => {
      await t.app.get(AccountsService).ensure('reconciled');
      const all = await run('reconcile', [], { DATABASE_URL: t.databaseUrl });
      expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: '' });
      expect(all.stdout).toMatch(/^accounts: \d+, ledger rows: \d+, problems: 0\nThe ledger reconciles\.\n$/);
      const one = await run('reconcile', ['reconciled'], { DATABASE_URL: t.databaseUrl });
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^accounts: 1, ledger rows: [1-9]\d*, problems: 0\n/);
    });

    it('refuses a malformed account id before connecting, and one that names no account', async () => {
      const malformed = await run('reconcile', ['bad id!'], { DATABASE_URL: unreachable });
      expectRefusal(malformed, 2, /^reconcile: "bad id!" is not an account id/);
      const unknown = await run('reconcile', ['nobody-here'], { DATABASE_URL: t.databaseUrl });
      expectRefusal(unknown, 2, /^reconcile: no account "nobody-here"/);
      expect(unknown.stdout).toBe('');
    });
  });

  describe('db:migrate', () => {
    it('migrates a new database, then finds nothing to do', async () => {
      const database = await createEmptyDatabase();
      try {
        const first = await run('migrate', [], { DATABASE_URL: database.url });
        expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
        expect(first.stdout).toMatch(/^Applied: .*functions\/credits_hold\.sql/m);
        const second = await run('migrate', [], { DATABASE_URL: database.url });
        expect(second.code).toBe(0);
        expect(second.stdout).toContain('The schema is up to date.\n');
      } finally {
        await database.drop();
      }
    });
  });

  describe('stripe:setup', () => {
    let stripe: LocalStripeServer;
    beforeAll(async () => {
      stripe = await new LocalStripeServer().start();
    });
    afterAll(() => stripe.stop());

    it('refuses to run without STRIPE_SECRET_KEY, before touching the database', async () => {
      const outcome = await run('stripe-setup', [], { DATABASE_URL: unreachable });
      expectRefusal(outcome, 2, /^stripe:setup: STRIPE_SECRET_KEY is not set/);
    });

    it('creates the catalog once, then finds it', async () => {
      const env = {
        DATABASE_URL: t.databaseUrl,
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: 'whsec_test',
        STRIPE_API_BASE: stripe.url,
      };
      const first = await run('stripe-setup', [], env);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
      const created = first.stdout.split('\n').filter((line) => line.startsWith('created'));
      expect(created.length).toBeGreaterThan(0);
      const second = await run('stripe-setup', [], env);
      expect(second.code).toBe(0);
      expect(second.stdout.split('\n').filter((line) => line.startsWith('exists')).length).toBe(created.length);
      expect(stripe.rejected).toEqual([]);
      expect(stripe.prices.size).toBe(created.length);
    });

    it('reports a key Stripe refuses in one line and exits 1', async () => {
      const outcome = await run('stripe-setup', [], {
        DATABASE_URL: t.databaseUrl,
        STRIPE_SECRET_KEY: 'sk_test_wrong',
        STRIPE_WEBHOOK_SECRET: 'whsec_test',
        STRIPE_API_BASE: stripe.url,
      });
      expectRefusal(outcome, 1, /^stripe:setup: Stripe: Wrong API version or key\n$/);
    });
  });
});
