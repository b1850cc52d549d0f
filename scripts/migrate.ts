/** Applies pending migrations: `npm run db:migrate`. Also run by the service at start-up. */
import { runMigrations } from '../src/database/database.options';
import { scriptDatabase } from './database';

async function main(): Promise<void> {
  const { database } = await scriptDatabase();
  try {
    const applied = await runMigrations(database.url);
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The schema is up to date.\n');
  } finally {
    await database.embedded?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
