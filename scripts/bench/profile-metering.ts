/** Profiles the service under single-event metering: `BENCH_SERVER_PROFILE=<dir> node dist/scripts/bench/profile-metering.js`. */
import path from 'node:path';
import { loadConfig } from '../../src/config/app-config';
import { runMigrations } from '../../src/database/database.options';
import { ensureDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMetering, startBenchServer } from './http';
import { ledgerAccountIds, prepareLedgerAccounts, startLedger } from './ledger';

async function main(): Promise<void> {
  const cluster = await startEmbeddedPostgres({ dataDir: path.resolve('.data', `profile-${process.pid}`), persistent: false });
  try {
    const url = await ensureDatabase(cluster.url, 'bench');
    await runMigrations(url);
    const config = loadConfig({ ...process.env, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), DATABASE_URL: url, LOG_LEVEL: 'warn' });
    const ledger = await startLedger(config, url);
    await prepareLedgerAccounts(ledger, ledgerAccountIds().slice(0, 201));
    await ledger.close();
    const server = await startBenchServer(url);
    const accounts = ledgerAccountIds().slice(1, 201);
    await runMetering(server, 8, 3, accounts, 1);
    const run = await runMetering(server, 8, Number(process.env.SECONDS ?? 8), accounts, 1);
    process.stdout.write(`${JSON.stringify(run)}\n`);
    await server.stop();
  } finally {
    await cluster.stop();
  }
}
void main().then(() => process.exit(0));
