/**
 * Verifies that every cached balance equals its ledger and none is negative: `npm run reconcile [-- <account-id>]`.
 * Exits 1 when it finds a problem, so it can run from monitoring.
 */
import { DataSource } from 'typeorm';
import { ReconciliationService } from '../src/credits/reconciliation.service';
import { databaseOptions } from '../src/database/database.options';
import { runScript, scriptDatabase } from './database';

async function main(): Promise<number> {
  const { database } = await scriptDatabase();
  const dataSource = new DataSource(databaseOptions(database.url, 2));
  await dataSource.initialize();
  try {
    const report = await new ReconciliationService(dataSource).reconcile(process.argv[2]);
    process.stdout.write(
      `accounts: ${report.accounts}, ledger rows: ${report.transactions}, problems: ${report.problems.length}\n`,
    );
    for (const problem of report.problems) process.stdout.write(`  - ${problem}\n`);
    process.stdout.write(report.ok ? 'The ledger reconciles.\n' : 'The ledger does NOT reconcile.\n');
    return report.ok ? 0 : 1;
  } finally {
    await dataSource.destroy();
    await database.embedded?.stop();
  }
}

runScript(main);
