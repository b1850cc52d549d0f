/** Applies pending migrations: `npm run db:migrate`. Also run by the service at start-up. */
import { runMigrations } from '../src/database/database.options';
import { runScript, scriptDatabase } from './database';

async function main(): Promise<number> {
  const { database } = await scriptDatabase({ migrate: false });
  try {
    const applied = await runMigrations(database.url);
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The schema is up to date.\n');
    return 0;
  } finally {
    await database.embedded?.stop();
  }
}

runScript(main);
