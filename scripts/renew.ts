/**
 * Runs the period renewal once, as the cron does: `npm run credits:renew [-- --at 2026-03-01T00:00:00Z]`.
 * Lets an operator catch up by hand after downtime; `--at` renews as of another moment, one in the future only with
 * `--force`: periods renewed ahead of time stay ahead, since the next period starts where that one ends.
 */
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { coreImports } from '../src/app.module';
import { RenewalService } from '../src/accounts/renewal.service';
import { loadConfig } from '../src/config/app-config';
import { CreditsModule } from '../src/credits/credits.module';
import { instantArgument, runScript, UsageError } from './cli';
import { withScriptDatabase } from './database';

runScript(
  {
    name: 'credits:renew',
    usage: 'npm run credits:renew [-- --at <ISO 8601 time> [--force]]',
    options: { at: { type: 'string' }, force: { type: 'boolean' } },
    help: `
Runs the period renewal once, as the cron does: accounts whose period has ended move to their current period (the
unused allowance expires, the new one is granted once), pending downgrades and cancellations take effect, past-due
accounts whose grace has ended get the FREE limits, and expired holds are given back.

  --at <time>  renew as of this moment instead of now: an ISO 8601 date or date-time with its offset
               (2026-03-01, 2026-03-01T00:00:00Z, 2026-03-01T01:00:00+01:00)
  --force      allow an --at later than now. Renewing ahead of time moves those accounts' periods forward for good:
               each next period starts where the last one ended, so they stay ahead of the calendar.
  --help, -h   this text

Exit codes: 0 done, 1 the database cannot be reached or the renewal failed, 2 bad usage (a malformed --at, a future
one without --force) or configuration.`,
  },
  async ({ values }) => {
    const at = values.at === undefined ? undefined : instantArgument('--at', values.at);
    if (values.force && !at) throw new UsageError('--force only applies to an --at in the future');
    if (at && at.getTime() > Date.now() && !values.force) {
      throw new UsageError(
        `--at ${at.toISOString()} is in the future: renewing ahead moves those periods forward for good; ` +
          'add --force to do it anyway',
      );
    }
    const config = loadConfig();
    await withScriptDatabase(config, async (database) => {
      @Module({ imports: [...coreImports(config, database.url), CreditsModule] })
      class RenewalCommandModule {}
      const app = await NestFactory.createApplicationContext(RenewalCommandModule, {
        logger: ['error', 'warn'],
        abortOnError: false,
      });
      try {
        const report = await app.get(RenewalService).run(at);
        process.stdout.write(
          `Renewal as of ${report.at.toISOString()}: ${report.renewed} account(s) renewed, ${report.graceEnded} past-due ` +
            `account(s) moved to FREE limits, ${report.holdsReleased} expired hold(s) released\n`,
        );
      } finally {
        await app.close();
        Logger.flush();
      }
    });
  },
);
