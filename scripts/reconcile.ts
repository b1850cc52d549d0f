/**
 * Verifies that every cached balance equals its ledger and none is negative: `npm run reconcile [-- <account-id>]`.
 * Exits 1 when it finds a problem, so it can run from monitoring.
 */
import { loadConfig } from '../src/config/app-config';
import { ReconciliationService } from '../src/credits/reconciliation.service';
import { accountIdArgument, runScript, UsageError } from './cli';
import { withDataSource, withScriptDatabase } from './database';

runScript(
  {
    name: 'reconcile',
    usage: 'npm run reconcile [-- <account-id>]',
    positionals: 1,
    help: `
Checks the ledger's invariant, for every account or the one given: each cached balance and each grant's remaining
credits equal the sum of their ledger rows, held credits match the pending holds, the wallet's lifetime totals match
its purchases and usage, and nothing is negative. Read-only; suited to an hourly monitoring job.

Exit codes: 0 the ledger reconciles, 1 a problem was found (each is listed) or the database cannot be reached,
2 bad usage (an account id that is malformed or names no account) or configuration.`,
  },
  async ({ positionals: [account] }) => {
    const accountId = account === undefined ? undefined : accountIdArgument(account);
    return withScriptDatabase(loadConfig(), (database) =>
      withDataSource(database, undefined, async (dataSource) => {
        const report = await new ReconciliationService(dataSource).reconcile(accountId);
        if (accountId !== undefined && report.accounts === 0 && report.ok) throw new UsageError(`no account "${accountId}"`);
        process.stdout.write(
          `accounts: ${report.accounts}, ledger rows: ${report.transactions}, problems: ${report.problems.length}\n`,
        );
        for (const problem of report.problems) process.stdout.write(`  - ${problem}\n`);
        process.stdout.write(report.ok ? 'The ledger reconciles.\n' : 'The ledger does NOT reconcile.\n');
        return report.ok ? 0 : 1;
      }),
    );
  },
);
