import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { AppConfig, loadConfig } from '../src/config/app-config';
import { resolveDatabase, ResolvedDatabase } from '../src/database/database-url';
import { runMigrations } from '../src/database/database.options';

/**
 * For operator scripts: the configured database (the embedded one when DATABASE_URL is unset), with its schema
 * brought up to date as the service itself does at start-up.
 */
export async function scriptDatabase(
  options: { migrate?: boolean } = {},
): Promise<{ config: AppConfig; database: ResolvedDatabase }> {
  Logger.overrideLogger(['error', 'warn', 'log']);
  const config = loadConfig();
  const database = await resolveDatabase(config);
  if (options.migrate !== false) await runMigrations(database.url);
  return { config, database };
}

/** Runs a script's main function and exits with its code (1 and the message on an error). */
export function runScript(main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
