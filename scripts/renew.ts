/**
 * Runs the period renewal once, as the cron does: `npm run credits:renew [-- --at 2027-03-01T00:00:00Z]`.
 * Lets an operator catch up by hand after downtime; `--at` renews as of another moment.
 */
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { coreImports } from '../src/app.module';
import { RenewalService } from '../src/accounts/renewal.service';
import { CreditsModule } from '../src/credits/credits.module';
import { runScript, scriptDatabase } from './database';

async function main(): Promise<number> {
  const atIndex = process.argv.indexOf('--at');
  const at = atIndex >= 0 ? new Date(process.argv[atIndex + 1] ?? '') : undefined;
  if (at && Number.isNaN(at.getTime())) {
    process.stderr.write('usage: npm run credits:renew -- [--at <ISO date-time>]\n');
    return 2;
  }
  const { config, database } = await scriptDatabase();
  @Module({ imports: [...coreImports(config, database.url), CreditsModule] })
  class RenewalCommandModule {}
  const app = await NestFactory.createApplicationContext(RenewalCommandModule, { logger: ['error', 'warn'] });
  try {
    const report = await app.get(RenewalService).run(at);
    process.stdout.write(
      `Renewal as of ${report.at.toISOString()}: ${report.renewed} account(s) renewed, ${report.graceEnded} past-due ` +
        `account(s) moved to FREE limits, ${report.holdsReleased} expired hold(s) released\n`,
    );
    return 0;
  } finally {
    await app.close();
    await database.embedded?.stop();
    Logger.flush();
  }
}

runScript(main);
