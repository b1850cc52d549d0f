/**
 * Writes migrations/schema.snapshot.sql: the schema that the migrations and migrations/functions/ produce in a new
 * database, read back from PostgreSQL (`npm run db:snapshot`). Run it after changing either; a test fails while the
 * committed snapshot differs.
 */
import { Logger } from '@nestjs/common';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../src/database/database.options';
import { ensureDatabase, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { SCHEMA_SNAPSHOT_FILE, schemaSnapshot } from '../src/database/schema-snapshot';
import { runScript } from './database';

async function main(): Promise<number> {
  Logger.overrideLogger(['error', 'warn']);
  const cluster = await startEmbeddedPostgres({
    dataDir: path.resolve('.data', `snapshot-postgres-${process.pid}`),
    persistent: false,
  });
  try {
    const url = await ensureDatabase(cluster.url, 'snapshot');
    await runMigrations(url);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      writeFileSync(SCHEMA_SNAPSHOT_FILE, await schemaSnapshot((text, parameters) => client.query(text, parameters).then((r) => r.rows)));
    } finally {
      await client.end();
    }
    process.stdout.write(`Wrote ${path.relative(process.cwd(), SCHEMA_SNAPSHOT_FILE)}\n`);
    return 0;
  } finally {
    await cluster.stop();
  }
}

runScript(main);
