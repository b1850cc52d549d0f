/**
 * `npm run bench`: the ledger against the raw PostgreSQL limit, on a fresh embedded PostgreSQL (fsync on).
 * Prints a table and writes BENCHMARKS.md. BENCH_SECONDS sets the length of each run (default 5), BENCH_HTTP_ROUNDS
 * how many times each HTTP comparison is repeated (default 5). BENCH_POOLER=pgbouncer puts PgBouncer in transaction
 * pooling mode between the service (in-process and over HTTP) and PostgreSQL, with statement preparation off; the
 * baseline, the measurements of PostgreSQL and the history bench still connect directly.
 */
import { Logger } from '@nestjs/common';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../src/config/app-config';
import { runMigrations } from '../../src/database/database.options';
import { ensureDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { PgBouncer, startPgBouncer } from '../pgbouncer';
import { prepareBaseline, runBaseline } from './baseline';
import { compareHttp, HttpComparison, HttpMeasurement, residentMiB, ResolverVariant, RESOLVERS, runHttp, runMetering, startBenchServer, VARIANTS } from './http';
import { ResourceProbe, ResourceUse } from './resources';
import { HOT_ACCOUNT, ledgerAccountIds, prepareLedgerAccounts, runLedger, startLedger } from './ledger';
import { runHistoryBench } from './history';
import { compareStacks } from './stack';
import { measureStartup } from './startup';
import { Measurement } from './measure';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = [8, 32];
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 5);
/** How long clients send documents that inline their values (each one new): the document cache must stay bounded. */
const UNIQUE_DOCUMENT_SECONDS = SECONDS * 12;
const POOLER = process.env.BENCH_POOLER || undefined;

const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (ours: number, base: number) => `${(ours / base).toFixed(2)}x`;

async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  if (POOLER !== undefined && POOLER !== 'pgbouncer') throw new Error(`BENCH_POOLER must be pgbouncer or unset, not "${POOLER}"`);
  const dataDir = path.resolve('.data', `bench-postgres-${process.pid}`);
  const cluster = await startEmbeddedPostgres({ dataDir, persistent: false });
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  let pooler: PgBouncer | undefined;
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
    if (POOLER) pooler = await startPgBouncer(cluster.url);
    // Where the service connects, and how.
    const serviceUrl = pooler ? pooler.route(url) : url;
    const serviceEnv: Record<string, string> = pooler ? { DATABASE_PREPARED_STATEMENTS: 'false' } : {};

    out(`# Benchmarks`);
    out();
    out(`Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${version}. Each run lasts ${SECONDS} s; ` +
      'absolute numbers vary between machines, the ratios are the headline.');
    if (pooler) {
      out();
      out(`The service (in-process and over HTTP) connects through ${pooler.version} in transaction pooling mode ` +
        `(${pooler.poolSize} server connections), with statement preparation off (\`DATABASE_PREPARED_STATEMENTS=false\`); ` +
        'the baseline connects directly. PgBouncer\'s own CPU time is in neither CPU column.');
    }
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
      DATABASE_URL: serviceUrl,
      DATABASE_POOL_SIZE: '40',
      LOG_LEVEL: 'warn',
      ...serviceEnv,
    });
    const ledger = await startLedger(config, serviceUrl);
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

    const stacks = await compareStacks(url, CLIENTS[0], SECONDS, HTTP_ROUNDS);
    out('## The request stack against bare NestJS');
    out();
    out('A trivial GraphQL mutation (no database) through the whole service with every layer on: a request log line');
    out('at the default level (written to /dev/null), security headers, CORS, both rate limits counting (set too high');
    out('to refuse), authentication, query limits, the status and NUL plugins and validation. Against it, the same');
    out('mutation in a bare NestJS + `@nestjs/apollo` application of the same versions (`scripts/bench/bare-server.ts`).');
    out(`${CLIENTS[0]} connections, ${HTTP_ROUNDS} rounds alternating which goes first; medians; CPU of the server process from /proc.`);
    out();
    out('| stack | req/s | CPU ms / request | against bare |');
    out('|---|---:|---:|---:|');
    out(`| bare NestJS + Apollo | ${fmt(stacks.bare.perSecond)} | ${fmt(stacks.bare.cpuMsPerRequest, 3)} | 1.00x |`);
    out(`| this service, every layer on | ${fmt(stacks.service.perSecond)} | ${fmt(stacks.service.cpuMsPerRequest, 3)} | ` +
      `**${ratio(stacks.service.cpuMsPerRequest, stacks.bare.cpuMsPerRequest)}** (rounds ${stacks.rounds.map((r) => r.toFixed(2)).join(', ')}) |`);
    out();
    out(`The bare application's ${fmt(stacks.bare.perSecond)} requests per second is also what one GraphQL request per event`);
    out('can reach on this machine with nothing behind it: metering one event per request cannot go faster.');
    out();

    const server = await startBenchServer(serviceUrl, { env: serviceEnv });
    const probe = await ResourceProbe.open(url, dataDir, server.pid);
    const httpRuns = new Map<number, HttpComparison>();
    const meteringRuns = new Map<string, HttpMeasurement>();
    const manyAccounts = ledgerAccountIds().slice(1);
    const memory: Array<{ label: string; mib: number }> = [{ label: 'idle, after start-up', mib: await residentMiB(server.pid) }];
    try {
      // Each workload runs once unmeasured first, so that none pays for the service warming up.
      for (const [hot, size] of [[false, 1], [true, 1], [false, 100]] as const) {
        const accounts = hot ? [HOT_ACCOUNT] : manyAccounts;
        await runMetering(server, CLIENTS[0], Math.min(SECONDS, 3), accounts, size);
        for (const clients of CLIENTS) {
          meteringRuns.set(`${hot}-${clients}-${size}`, await runMetering(server, clients, SECONDS, accounts, size, probe));
        }
      }
      memory.push({ label: 'after the metering runs (constant documents, variables)', mib: await residentMiB(server.pid) });
      const unique = await runMetering(server, CLIENTS[0], UNIQUE_DOCUMENT_SECONDS, manyAccounts, 0);
      memory.push({
        label: `after ${UNIQUE_DOCUMENT_SECONDS} s of documents never seen before (${fmt(unique.perSecond * UNIQUE_DOCUMENT_SECONDS)} of them)`,
        mib: await residentMiB(server.pid),
      });
      // Every resolver runs once unmeasured first, so that none pays for the service warming up.
      for (const variant of VARIANTS) {
        await runHttp(server, CLIENTS[0], Math.min(SECONDS, 3), variant);
      }
      for (const clients of CLIENTS) {
        httpRuns.set(clients, await compareHttp(server, clients, SECONDS, HTTP_ROUNDS, probe));
      }
      memory.push({ label: 'after the guarded and unguarded resolver runs', mib: await residentMiB(server.pid) });
    } finally {
      await probe.close();
      await server.stop();
    }
    out('## Metering over HTTP against raw PostgreSQL');
    out();
    out('What a metering peer sends, over GraphQL with autocannon against the service in its own process (service-role');
    out('token, 1 INTEGRATION credit per event, each event with its own idempotency key, the in-process run\'s accounts):');
    out('one event per `consumeCredits` request, or 100 per `consumeCreditsBatch` request. Events per second against');
    out('the same baseline as above; CPU per event read from /proc.');
    out();
    out('| workload | clients | events per request | baseline debits/s | events/s | ratio | request p50 ms | request p99 ms | service CPU ms / event | PostgreSQL CPU ms / event |');
    out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [hot, clients, size] of [[false, 8, 1], [false, 32, 1], [true, 8, 1], [true, 32, 1], [false, 8, 100], [false, 32, 100]] as const) {
      const base = baseline.get(`${hot}-${clients}`)!;
      const ours = meteringRuns.get(`${hot}-${clients}-${size}`)!;
      out(`| ${hot ? 'one hot account' : 'many accounts'} | ${clients} | ${size} | ${fmt(base.perSecond)} | ${fmt(ours.perSecond)} | ` +
        `**${ratio(ours.perSecond, base.perSecond)}** | ${fmt(ours.p50Ms, 2)} | ${fmt(ours.p99Ms, 2)} | ` +
        `${fmt(ours.resources!.serviceCpuMs, 3)} | ${fmt(ours.resources!.postgresCpuMs, 3)} |` +
        (ours.non2xx || ours.errors ? ` (non-2xx or errors: ${ours.non2xx + ours.errors})` : ''));
    }
    out();
    out('### Memory of the service process');
    out();
    out('Resident set size (VmRSS) of the service, then after clients sent documents that write each event\'s values');
    out('into the document (`consumeCredits(input: { ... })`), so that every request is a document the service never');
    out('saw: its document cache is bounded (about 4 MiB in Apollo\'s estimate), so memory stays flat.');
    out();
    out('| moment | RSS MiB |');
    out('|---|---:|');
    for (const { label, mib } of memory) out(`| ${label} | ${fmt(mib)} |`);
    out();
    out('## End to end over HTTP: the guard\'s overhead');
    out();
    out('`sendChatMessage` (guarded by `@RequiresCredits`: reserve, then capture) against the same resolver without');
    out('the decorator, over GraphQL with autocannon, 50 accounts, the service in its own process. Two floors run');
    out('beside them: the unguarded resolver plus one bare debit after it (the baseline\'s `UPDATE` and `INSERT` as one');
    out('statement, committed before the answer), and plus one bare debit before it and one after (two commits around');
    out('the resolver, as a reservation and a capture need, with nothing else written).');
    out(`${HTTP_ROUNDS} rounds of each, each round starting with the next resolver in turn; the figures are the medians of`);
    out('the rounds, and "latency added" is the median of each round\'s own comparison with the unguarded resolver.');
    out();
    out('| connections | unguarded req/s | guarded req/s | unguarded mean ms | guarded mean ms | guard: latency added | ' +
      'guarded p99 ms | floor, one bare debit after | floor, bare debits before and after |');
    out('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const added = (run: HttpComparison, variant: ResolverVariant) =>
      `${run.addedPercent[variant].toFixed(1)} % (rounds ${run.roundsPercent[variant].map((p) => p.toFixed(0)).join(', ')})`;
    for (const clients of CLIENTS) {
      const run = httpRuns.get(clients)!;
      const { unguarded, guarded } = run.runs;
      out(`| ${clients} | ${fmt(unguarded.perSecond)} | ${fmt(guarded.perSecond)} | ${fmt(unguarded.meanMs, 2)} | ` +
        `${fmt(guarded.meanMs, 2)} | **${added(run, 'guarded')}** | ${fmt(guarded.p99Ms, 2)} | ` +
        `${added(run, 'bareDebitAfter')} | ${added(run, 'bareDebitsAround')} |` +
        (run.failures ? ` (non-2xx or errors: ${run.failures})` : ''));
    }
    out();
    out('### Where the machine\'s time goes');
    out();
    out('Per request, medians of the same rounds: CPU time of the service process and of PostgreSQL (every process of');
    out('the cluster, from /proc), transactions that wrote (each waits for its WAL to reach the disk when it commits)');
    out('and WAL bytes. The load generator takes the rest of the two cores.');
    out();
    out('| connections | resolver | service CPU ms | PostgreSQL CPU ms | writing transactions | WAL bytes |');
    out('|---:|---|---:|---:|---:|---:|');
    for (const clients of CLIENTS) {
      const run = httpRuns.get(clients)!;
      const base = run.runs.unguarded.resources!;
      for (const variant of VARIANTS) {
        const use = run.runs[variant].resources!;
        const cell = (field: keyof ResourceUse, digits: number) =>
          fmt(use[field], digits) + (variant === 'unguarded' ? '' : ` (${use[field] >= base[field] ? '+' : ''}${fmt(use[field] - base[field], digits)})`);
        out(`| ${clients} | ${RESOLVERS[variant].label} | ${cell('serviceCpuMs', 2)} | ${cell('postgresCpuMs', 2)} | ` +
          `${cell('writes', 2)} | ${cell('walBytes', 0)} |`);
      }
    }
    out();
    await runHistoryBench(out);
    out();
    const startup = await measureStartup();
    out('## Start-up');
    out();
    out('`npm start` to the first answer: the build (`tsc -b`, which has nothing to do when nothing changed), then the');
    out('service itself (`node dist/src/main.js`, embedded PostgreSQL, production settings), as its start-up line splits');
    out('it; "loading and first request" is the rest: loading the code before its first line runs, and the first answer.');
    out();
    out(`| step | ${startup.starts.map((start) => start.label).join(' | ')} |`);
    out(`|---|${startup.starts.map(() => '---:').join('|')}|`);
    const row = (label: string, value: (start: (typeof startup.starts)[number]) => number) =>
      out(`| ${label} | ${startup.starts.map((start) => `${fmt(value(start))} ms`).join(' | ')} |`);
    row('build, nothing changed', () => startup.buildUpToDateMs);
    row('embedded PostgreSQL', (start) => start.databaseMs);
    row('migrations and database functions', (start) => start.migrationsMs);
    row('application (Nest modules, GraphQL schema, listening)', (start) => start.applicationMs);
    row('loading and first request', (start) => start.firstAnswerMs - start.databaseMs - start.migrationsMs - start.applicationMs);
    row('**service start to first answer**', (start) => start.firstAnswerMs);
    out();
    out(`A clean build (every file compiled, as after a fresh clone) takes ${fmt(startup.buildCleanMs)} ms.`);
    out();
    out('## Reading the numbers');
    out();
    out('- Consumption goes through group commit (`LEDGER_BATCH_SIZE`, `LEDGER_BATCH_CONCURRENCY`): charges that');
    out('  arrive while their account has a batch in flight leave together in the next one, each with its own answer,');
    out('  ledger rows and usage record. A hot account pays one transaction per batch, so it outruns the');
    out('  one-debit-per-transaction baseline, which queues on the row lock; with more clients the batches grow.');
    out('- With few clients an account seldom has a batch in flight, so batches form across accounts: while one is in');
    out('  flight, the next leaves at the end of the event loop\'s turn with every charge waiting, those of the callers');
    out('  just answered included. A charge does more than the baseline\'s two statements (spending order across');
    out('  grants, wallet fallback, idempotency, usage record, alerts); sharing commits is what puts it ahead.');
    out('- A guarded request makes one durable change more than the same resolver unguarded: the hold before it');
    out('  (`credits_hold`; group commit, `credits_guard_batch`, lets concurrent requests share those transactions). Its');
    out('  capture (`credits_capture_whole`) commits together with the chat message it pays for, in the resolver\'s own');
    out('  transaction (`MeteredCall.transaction`), so that the work and its charge commit or fail together.');
    out('- The floors show what two commits around the resolver cost by themselves on this machine: the distance');
    out('  from them to the guard is the guard\'s own work (the hold, ledger and usage rows; the grant, balance and');
    out('  hold updates; the service\'s side of reserving and capturing), on two cores shared by the load generator,');
    out('  the service and PostgreSQL.');
    out('- Figures move on a shared 2-core machine: HTTP latency by tens of points between rounds of one run, the');
    out('  baseline by up to half between runs. Compare within one run, and read the per-request costs, which move');
    out('  far less, to see where a difference comes from.');
    out();
    writeFileSync('BENCHMARKS.md', `${lines.join('\n')}\n`);
    process.stdout.write('\nWritten to BENCHMARKS.md\n');
  } finally {
    await pooler?.stop();
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
