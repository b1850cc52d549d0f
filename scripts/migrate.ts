/** Applies pending migrations and changed database functions: `npm run db:migrate`. Also run by the service at start-up. */
import { loadConfig } from '../src/config/app-config';
import { runMigrations } from '../src/database/database.options';
import { runScript } from './cli';
import { withScriptDatabase } from './database';

runScript(
  {
    name: 'db:migrate',
    usage: 'npm run db:migrate',
    help: `
Applies the pending migrations and the database functions of migrations/functions/ whose files changed, to
DATABASE_URL (the embedded PostgreSQL under .data/ when unset). Safe to run from several places at once: one
migrates while the others wait. A release step in production.

Exit codes: 0 done (or nothing to do), 1 the database cannot be reached or a migration failed, 2 bad usage or
configuration.`,
  },
  async () => {
    await withScriptDatabase(
      loadConfig(),
      async (database) => {
        const applied = await runMigrations(database.url);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The schema is up to date.\n');
      },
      { migrate: false },
    );
  },
);
