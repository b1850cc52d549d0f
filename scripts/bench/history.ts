/**
 * Costs against the size of an account's history: one account seeded to 10k, 100k and 1M ledger rows beside
 * 10,000 small accounts (100 ledger rows each), on a fresh embedded PostgreSQL per size. Reports the billing
 * overview, the first history pages and one charge of the big account, a reconciliation of the whole database and
 * the renewal of the 10,000 small accounts, whose period has ended.
 *
 * Alone: `npx ts-node -T scripts/bench/history.ts [--sizes 10000,100000] [--explain EXPLAIN-1M.txt]`; from another
 * script: `await runHistoryBench(out)`. `--explain` writes EXPLAIN (ANALYZE, BUFFERS) of the main queries at the
 * largest size.
 */
import { INestApplicationContext, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { coreImports } from '../../src/app.module';
import { RenewalService } from '../../src/accounts/renewal.service';
import { AccountsService } from '../../src/accounts/accounts.service';
import { periodAt } from '../../src/accounts/period-math';
import { loadConfig } from '../../src/config/app-config';
import { BalancesService } from '../../src/credits/balances.service';
import { CreditType } from '../../src/credits/credit-type.enum';
import { CreditsModule } from '../../src/credits/credits.module';
import { CreditsService } from '../../src/credits/credits.service';
import { RECONCILE_SQL, ReconciliationService } from '../../src/credits/reconciliation.service';
import { runMigrations } from '../../src/database/database.options';
import { ensureDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { UsageModule } from '../../src/usage/usage.module';
import { UsageService } from '../../src/usage/usage.service';
import { quantile } from './measure';

export const HISTORY_SIZES = [10_000, 100_000, 1_000_000];
export const SMALL_ACCOUNTS = 10_000;
const BIG = 'bench-big';
const RUNS = 100;
const WARMUP = 10;

export interface HistoryBenchOptions {
  sizes?: number[];
  /** Writes EXPLAIN (ANALYZE, BUFFERS) of the main queries at the largest size to this file. */
  explainTo?: string;
}

interface SizeResult {
  size: number;
  transactions: number;
  usage: number;
  overviewMs: number;
  transactionPageMs: number;
  usagePageMs: number;
  chargeMs: number;
  reconcileMs: number;
  renewed: number;
  renewalMs: number;
}

/** Median latency of `operation` over RUNS calls, after WARMUP. */
async function median(operation: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await operation();
  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const begin = performance.now();
    await operation();
    latencies.push(performance.now() - begin);
  }
  return quantile(latencies.sort((a, b) => a - b), 0.5);
}

async function timed<T>(operation: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const begin = performance.now();
  const value = await operation();
  return { value, ms: performance.now() - begin };
}

/**
 * The big account's history: its FREE allowance (made by the service), one purchase of `size` + 1,000,000 credits
 * and `size` - 3 wallet-paid messages, each a CONSUME row and a usage record, in one statement each. Balances,
 * grants and running balances end as the ledger would have left them.
 */
async function seedBigAccount(app: INestApplicationContext, client: Client, size: number): Promise<void> {
  await app.get(AccountsService).ensure(BIG);
  await app.get(CreditsService).grant({ accountId: BIG, amount: size + 1_000_000, kind: 'PURCHASE', sourceKey: `${BIG}:purchase` });
  const spends = size - 3;
  await client.query('BEGIN');
  await client.query(
    `WITH g AS (SELECT id, amount FROM credit_grants WHERE source_key = $2)
     INSERT INTO credit_transactions (account_id, kind, pool, charge_type, grant_id, amount, balance_after, description,
                                      created_at)
     SELECT $1, 'CONSUME', 'WALLET', 'MESSAGE', g.id, -1, g.amount - i, 'seeded message',
            now() - make_interval(secs => ($3 - i) * 0.01)
       FROM g, generate_series(1, $3::int) i ORDER BY i`,
    [BIG, `${BIG}:purchase`, spends],
  );
  await client.query(
    `INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after, description,
                               created_at)
     SELECT $1, 'MESSAGE', 1, 0, 1, 0, 'seeded message', now() - make_interval(secs => ($2 - i) * 0.01)
       FROM generate_series(1, $2::int) i ORDER BY i`,
    [BIG, spends],
  );
  await client.query(`UPDATE credit_grants SET remaining = remaining - $2 WHERE source_key = $1`, [`${BIG}:purchase`, spends]);
  // As the ledger's writers do: wallet credits paid for usage count into the wallet row's total_used.
  await client.query(
    `UPDATE credit_balances SET balance = balance - $2, total_used = total_used + $2 WHERE account_id = $1 AND pool = 'WALLET'`,
    [BIG, spends],
  );
  await client.query('COMMIT');
}

/**
 * SMALL_ACCOUNTS FREE accounts whose period ended ten days ago, 100 ledger rows each: the MESSAGE allowance (10)
 * with 5 messages, the INTEGRATION allowance (100) with 60 calls, a purchase of 100 wallet credits with 32
 * wallet-paid messages.
 */
async function seedSmallAccounts(client: Client): Promise<void> {
  const anchor = new Date(Date.now() - 40 * 86_400_000);
  const period = periodAt(anchor, anchor);
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO accounts (id, plan_code, period_anchor, current_period_start, current_period_end, created_at, updated_at)
     SELECT 'bench-small-' || lpad(i::text, 5, '0'), 'FREE', $2, $2, $3, $2, $2 FROM generate_series(1, $1::int) i`,
    [SMALL_ACCOUNTS, period.start, period.end],
  );
  await client.query(`
    CREATE TEMP TABLE seed_pools ON COMMIT DROP AS
    SELECT * FROM (VALUES ('INTEGRATION', 'ALLOWANCE', 'GRANT', 'INTEGRATION', 100, 60),
                          ('MESSAGE', 'ALLOWANCE', 'GRANT', 'MESSAGE', 10, 5),
                          ('WALLET', 'PURCHASE', 'PURCHASE', 'MESSAGE', 100, 32)) p(pool, kind, ledger_kind, charge_type, amount, spent)`);
  await client.query(`
    INSERT INTO credit_balances (account_id, pool, balance, total_used, updated_at)
    SELECT a.id, p.pool, coalesce(s.amount - s.spent, 0), CASE WHEN p.pool = 'WALLET' THEN s.spent ELSE 0 END, a.created_at
      FROM accounts a CROSS JOIN unnest(ARRAY['INTEGRATION', 'MESSAGE', 'PROJECT', 'WALLET']) p(pool)
      LEFT JOIN seed_pools s ON s.pool = p.pool
     WHERE a.id LIKE 'bench-small-%'`);
  await client.query(`
    CREATE TEMP TABLE seed_grants ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, a.id AS account_id, a.current_period_start, a.current_period_end, s.*,
           nextval(pg_get_serial_sequence('credit_transactions', 'id')) AS transaction_id
      FROM accounts a CROSS JOIN seed_pools s WHERE a.id LIKE 'bench-small-%' ORDER BY a.id, s.pool`);
  await client.query(`
    INSERT INTO credit_grants (id, account_id, pool, kind, amount, remaining, priority, expires_at, period_start,
                               source_key, origin_transaction_id, description, created_at)
    SELECT id, account_id, pool, kind, amount, amount - spent, credits_grant_priority(kind),
           CASE WHEN kind = 'ALLOWANCE' THEN current_period_end END,
           CASE WHEN kind = 'ALLOWANCE' THEN current_period_start END,
           CASE WHEN kind = 'ALLOWANCE'
                THEN 'allowance:' || account_id || ':' || pool || ':'
                     || to_char(current_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                ELSE 'bench-purchase:' || account_id END,
           transaction_id, 'seeded', current_period_start
      FROM seed_grants`);
  await client.query(`
    INSERT INTO credit_transactions (id, account_id, kind, pool, grant_id, amount, balance_after, description, created_at)
    SELECT transaction_id, account_id, ledger_kind, pool, id, amount, amount, 'seeded', current_period_start
      FROM seed_grants`);
  await client.query(`
    INSERT INTO credit_transactions (account_id, kind, pool, charge_type, grant_id, amount, balance_after, description,
                                     created_at)
    SELECT account_id, 'CONSUME', pool, charge_type, id, -1, amount - j, 'seeded', current_period_start + make_interval(mins => j)
      FROM seed_grants, generate_series(1, spent) j ORDER BY account_id, pool, j`);
  await client.query(`
    INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after, description,
                              created_at)
    SELECT account_id, charge_type, 1, CASE WHEN pool = 'WALLET' THEN 0 ELSE 1 END,
           CASE WHEN pool = 'WALLET' THEN 1 ELSE 0 END, 0, 'seeded', current_period_start + make_interval(mins => j)
      FROM seed_grants, generate_series(1, spent) j ORDER BY account_id, pool, j`);
  await client.query('COMMIT');
}

async function startServices(url: string): Promise<INestApplicationContext> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: 'x'.repeat(40),
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: '10',
    LOG_LEVEL: 'warn',
  });
  @Module({ imports: [...coreImports(config, url), CreditsModule, UsageModule] })
  class HistoryBenchModule {}
  return NestFactory.createApplicationContext(HistoryBenchModule, { logger: ['error', 'warn'] });
}

/** The main queries as the services send them; a `generic` one runs as its database function plans it. */
interface Explained {
  title: string;
  sql: string;
  parameters: unknown[];
  generic?: boolean;
}

const PAGE_QUERIES: Explained[] = ['credit_transactions', 'credit_usage'].map((table) => ({
  title: `First ${table} history page of the big account (the plan of ${table}_page: generic)`,
  sql: `SELECT * FROM ${table} WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
  parameters: [BIG, '9223372036854775807', 21],
  generic: true,
}));

const LATER_QUERIES: Explained[] = [
  {
    title: 'Wallet totals of the big account (billing overview)',
    sql: `SELECT total_purchased, total_used FROM credit_balances WHERE account_id = $1 AND pool = 'WALLET'`,
    parameters: [BIG],
  },
  { title: 'Reconcile (whole database)', sql: RECONCILE_SQL, parameters: [null] },
];

async function explain(client: Client, queries: Explained[]): Promise<string> {
  const sections: string[] = [];
  for (const query of queries) {
    let plan: string;
    try {
      let rows: Array<Record<string, string>>;
      if (query.generic) {
        await client.query(`SET plan_cache_mode = force_generic_plan`);
        await client.query(`PREPARE explained AS ${query.sql}`);
        const values = query.parameters.map((value) => (typeof value === 'number' ? String(value) : `'${String(value)}'`));
        ({ rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE explained(${values.join(', ')})`));
        await client.query('DEALLOCATE explained');
        await client.query('RESET plan_cache_mode');
      } else {
        ({ rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, query.parameters));
      }
      plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    } catch (error) {
      plan = `(not run: ${(error as Error).message})`;
    }
    sections.push(`## ${query.title}\n\n${query.sql.trim()}\n\n${plan}\n`);
  }
  return sections.join('\n');
}

async function measureSize(clusterUrl: string, size: number, explainTo?: string): Promise<SizeResult> {
  const name = `history_${size}`;
  const url = await ensureDatabase(clusterUrl, name);
  await runMigrations(url);
  const client = new Client({ connectionString: url });
  await client.connect();
  const app = await startServices(url);
  try {
    await seedBigAccount(app, client, size);
    await seedSmallAccounts(client);
    await client.query('VACUUM ANALYZE');
    const [{ transactions, usage }] = (
      await client.query(
        `SELECT (SELECT count(*) FROM credit_transactions)::int AS transactions,
                (SELECT count(*) FROM credit_usage)::int AS usage`,
      )
    ).rows;

    // The pages before any charge: the big account's newest row is older than every small account's.
    const pagePlans = explainTo ? await explain(client, PAGE_QUERIES) : '';
    const usageService = app.get(UsageService);
    const balances = app.get(BalancesService);
    const credits = app.get(CreditsService);
    const overviewMs = await median(() => usageService.overview(BIG));
    const transactionPageMs = await median(() => balances.transactionPage(BIG, 20));
    const usagePageMs = await median(() => balances.usagePage(BIG, 20));
    const chargeMs = await median(async () => {
      const outcome = await credits.consume(BIG, { type: CreditType.MESSAGE, amount: 1 });
      if (!outcome.allowed) throw new Error('the big account was refused a charge');
    });

    const reconciled = await timed(() => app.get(ReconciliationService).reconcile());
    if (!reconciled.value.ok) throw new Error(`reconcile found problems: ${reconciled.value.problems.slice(0, 5).join('; ')}`);
    if (explainTo) {
      const text = `${pagePlans}\n${await explain(client, LATER_QUERIES)}`;
      writeFileSync(explainTo, `EXPLAIN (ANALYZE, BUFFERS) at ${size} ledger rows of one account\n\n${text}`);
    }
    const renewal = await timed(() => app.get(RenewalService).run());
    const after = await app.get(ReconciliationService).reconcile();
    if (!after.ok) throw new Error(`reconcile after renewal found problems: ${after.problems.slice(0, 5).join('; ')}`);
    return {
      size,
      transactions,
      usage,
      overviewMs,
      transactionPageMs,
      usagePageMs,
      chargeMs,
      reconcileMs: reconciled.ms,
      renewed: renewal.value.renewed,
      renewalMs: renewal.ms,
    };
  } finally {
    await app.close();
    await client.end();
    const admin = new Client({ connectionString: clusterUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

const fmt = (value: number, digits = 1) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs every size on a fresh embedded PostgreSQL and prints a markdown table through `out`. */
export async function runHistoryBench(out: (line: string) => void, options: HistoryBenchOptions = {}): Promise<void> {
  const sizes = options.sizes ?? HISTORY_SIZES;
  const dataDir = path.resolve('.data', `history-bench-postgres-${process.pid}`);
  const cluster = await startEmbeddedPostgres({ dataDir, persistent: false });
  try {
    const results: SizeResult[] = [];
    for (const size of sizes) {
      const largest = size === Math.max(...sizes);
      results.push(await measureSize(cluster.url, size, largest ? options.explainTo : undefined));
    }
    out('## Costs against history size');
    out('');
    out(
      `One account with N ledger rows beside ${SMALL_ACCOUNTS.toLocaleString('en-US')} small accounts (100 rows each). ` +
        `Latencies are medians of ${RUNS} calls through the services; reconcile covers the whole database; renewal ` +
        `renews the ${SMALL_ACCOUNTS.toLocaleString('en-US')} small accounts, whose period has ended.`,
    );
    out('');
    out('| Big account rows | Ledger rows (all) | Usage rows (all) | Overview ms | Ledger page ms | Usage page ms | Charge ms | Reconcile s | Renewal accounts/s |');
    out('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      out(
        `| ${r.size.toLocaleString('en-US')} | ${r.transactions.toLocaleString('en-US')} | ${r.usage.toLocaleString('en-US')} | ` +
          `${fmt(r.overviewMs, 2)} | ${fmt(r.transactionPageMs, 2)} | ${fmt(r.usagePageMs, 2)} | ${fmt(r.chargeMs, 2)} | ` +
          `${fmt(r.reconcileMs / 1000, 2)} | ${fmt((r.renewed / r.renewalMs) * 1000, 0)} (${r.renewed} in ${fmt(r.renewalMs / 1000, 2)} s) |`,
      );
    }
  } finally {
    await cluster.stop();
  }
}

if (require.main === module) {
  Logger.overrideLogger(['error', 'warn']);
  const argument = (flag: string) => {
    const index = process.argv.indexOf(flag);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const sizes = argument('--sizes')?.split(',').map(Number);
  const explainTo = argument('--explain');
  runHistoryBench((line) => process.stdout.write(`${line}\n`), { sizes, explainTo: explainTo && path.resolve(explainTo) }).catch(
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
