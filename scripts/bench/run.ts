/**
 * `npm run bench`: the ledger against the raw PostgreSQL limit, on a fresh embedded PostgreSQL (fsync on).
 * Prints a table and writes BENCHMARKS.md. BENCH_SECONDS sets the length of each run (default 5), BENCH_HTTP_ROUNDS
 * how many times each HTTP comparison is repeated (default 3).
 */
import { Logger } from '@nestjs/common';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../src/config/app-config';
import { runMigrations } from '../../src/database/database.options';
import { ensureDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { prepareBaseline, runBaseline } from './baseline';
import { compareHttp, HttpComparison, runHttp, startBenchServer } from './http';
import { ledgerAccountIds, prepareLedgerAccounts, runLedger, startLedger } from './ledger';
import { Measurement } from './measure';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = [8, 32];
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (ours: number, base: number) => `${(ours / base).toFixed(2)}x`;

async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const cluster = await startEmbeddedPostgres({
    dataDir: path.resolve('.data', `bench-postgres-${process.pid}`),
    persistent: false,
  });
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    const url = await ensureDatabase(cluster.url, 'bench');
    await runMigrations(url);
    const version = await (async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query(`SELECT current_setting('server_version') AS v, current_setting('fsync') AS f`);
      await client.end();
      return `PostgreSQL ${rows[0].v} (embedded, fsync ${rows[0].f})`;
    })();

    out(`# Benchmarks`);
    out();
    out(`Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${version}. Each run lasts ${SECONDS} s; ` +
      'absolute numbers vary between machines, the ratios are the headline.');
    out();

    await prepareBaseline(url);
    const baseline = new Map<string, Measurement>();
    for (const hot of [false, true]) {
      for (const clients of CLIENTS) baseline.set(`${hot}-${clients}`, await runBaseline(url, clients, SECONDS * 1000, hot));
    }

    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(40),
      DATABASE_URL: url,
      DATABASE_POOL_SIZE: '40',
      LOG_LEVEL: 'warn',
    });
    const ledger = await startLedger(config, url);
    const ledgerRuns = new Map<string, Measurement>();
    try {
      await prepareLedgerAccounts(ledger, ledgerAccountIds());
      for (const hot of [false, true]) {
        for (const clients of CLIENTS) ledgerRuns.set(`${hot}-${clients}`, await runLedger(ledger, clients, SECONDS * 1000, hot));
      }
    } finally {
      await ledger.close();
    }

    out('## The ledger against raw PostgreSQL');
    out();
    out('Baseline: one debit per transaction (`UPDATE ... WHERE balance >= 1` and a ledger `INSERT`), driven from Node');
    out('through `pg`. Ours: `CreditsService.consume` in-process (1 INTEGRATION credit, no idempotency key).');
    out();
    out('| workload | clients | baseline debits/s | consume/s | ratio | consume p50 ms | consume p99 ms |');
    out('|---|---:|---:|---:|---:|---:|---:|');
    for (const hot of [false, true]) {
      for (const clients of CLIENTS) {
        const base = baseline.get(`${hot}-${clients}`)!;
        const ours = ledgerRuns.get(`${hot}-${clients}`)!;
        out(`| ${hot ? 'one hot account' : 'many accounts'} | ${clients} | ${fmt(base.perSecond)} | ${fmt(ours.perSecond)} | ` +
          `**${ratio(ours.perSecond, base.perSecond)}** | ${fmt(ours.p50Ms, 2)} | ${fmt(ours.p99Ms, 2)} |` +
          (ours.errors ? ` (${ours.errors} errors)` : ''));
      }
    }
    out();

    const server = await startBenchServer(url);
    const httpRuns = new Map<number, HttpComparison>();
    try {
      // Both resolvers run once unmeasured first, so that neither pays for the service warming up.
      for (const guarded of [false, true]) await runHttp(server, CLIENTS[0], Math.min(SECONDS, 3), guarded);
      for (const clients of CLIENTS) httpRuns.set(clients, await compareHttp(server, clients, SECONDS, HTTP_ROUNDS));
    } finally {
      await server.stop();
    }
    out('## End to end over HTTP: the guard\'s overhead');
    out();
    out('`sendChatMessage` (guarded by `@RequiresCredits`: reserve, then capture) against the same resolver without');
    out('the decorator, over GraphQL with autocannon, 50 accounts, the service in its own process.');
    out(`${HTTP_ROUNDS} rounds of each, taken in turns; the figures are the medians of the rounds, and "latency added"`);
    out('is the median of each round\'s own comparison. The last two columns count machine time in raw debits (one');
    out('transaction of the baseline above, many accounts, same number of clients): what the guard costs per request,');
    out('and what 15 % of the unguarded request would allow.');
    out();
    out('| connections | unguarded req/s | guarded req/s | unguarded mean ms | guarded mean ms | latency added | ' +
      'guarded p99 ms | guard, in raw debits | 15 % budget, in raw debits |');
    out('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const budgets = new Map<number, number>();
    for (const clients of CLIENTS) {
      const run = httpRuns.get(clients)!;
      const debitsPerSecond = baseline.get(`false-${clients}`)!.perSecond;
      const guardCost = (1 / run.guarded.perSecond - 1 / run.unguarded.perSecond) * debitsPerSecond;
      const budget = (0.15 / run.unguarded.perSecond) * debitsPerSecond;
      budgets.set(clients, budget);
      out(`| ${clients} | ${fmt(run.unguarded.perSecond)} | ${fmt(run.guarded.perSecond)} | ${fmt(run.unguarded.meanMs, 2)} | ` +
        `${fmt(run.guarded.meanMs, 2)} | **${run.addedPercent.toFixed(1)} %** (rounds ${run.roundsPercent.map((p) => p.toFixed(0)).join(', ')}) | ` +
        `${fmt(run.guarded.p99Ms, 2)} | ${guardCost.toFixed(2)} | ${budget.toFixed(2)} |` +
        (run.failures ? ` (non-2xx or errors: ${run.failures})` : ''));
    }
    out();
    out('## Reading the numbers');
    out();
    out('- Consumption goes through group commit (`LEDGER_BATCH_SIZE`, `LEDGER_BATCH_CONCURRENCY`): charges that');
    out('  arrive while their account has a batch in flight leave together in the next one, each with its own answer,');
    out('  ledger rows and usage record. A hot account pays one transaction per batch, so it outruns the');
    out('  one-debit-per-transaction baseline, which queues on the row lock; with more clients the batches grow.');
    out('- With few clients the batches stay small, and a charge does more than the baseline\'s two statements');
    out('  (spending order across grants, wallet fallback, idempotency, usage record, alerts).');
    out('- A guarded request makes two durable changes more than the same resolver unguarded: the hold before it and');
    out('  the capture after it (`credits_hold`, `credits_capture_whole`). Group commit (`credits_guard_batch`) lets');
    out('  concurrent requests share their transactions, so with more connections each request pays a smaller share');
    out('  of the commits and round trips. What remains is the writing itself (hold, ledger and usage rows; grant,');
    out('  balance and hold updates), on two cores shared by the load generator, the service and PostgreSQL.');
    const fewest = CLIENTS[0];
    out(`- The raw-debit columns show what the 15 % target asks: at ${fewest} connections it allows ` +
      `${budgets.get(fewest)!.toFixed(2)} baseline transactions of machine time per request, for a hold and a capture`);
    out('  that cannot share a transaction (the resolver runs between them), with at most ' +
      `${fewest} requests in flight to group them with.`);
    out('- Figures move between runs on a shared 2-core machine (HTTP by more than ten points, the baseline by up to');
    out('  half): compare ratios within one run.');
    out();
    writeFileSync('BENCHMARKS.md', `${lines.join('\n')}\n`);
    process.stdout.write('\nWritten to BENCHMARKS.md\n');
  } finally {
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
