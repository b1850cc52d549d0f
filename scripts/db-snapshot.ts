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
import { EmbeddedDatabase, ensureDatabase, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { SCHEMA_SNAPSHOT_FILE, schemaSnapshot } from '../src/database/schema-snapshot';
import { errorSummary, runScript, ScriptFailure } from './cli';

runScript(
  {
    name: 'db:snapshot',
    usage: 'npm run db:snapshot',
    help: `
Migrates a new, throw-away embedded PostgreSQL and writes the schema it ends with to
migrations/schema.snapshot.sql. Run it after changing a migration or a database function; a test fails while the
committed snapshot differs. Ignores DATABASE_URL.

Exit codes: 0 written, 1 the embedded PostgreSQL did not start or a migration failed, 2 bad usage.`,
  },
  async () => {
    Logger.overrideLogger(['error', 'warn']);
    let cluster: EmbeddedDatabase;
    try {
      cluster = await startEmbeddedPostgres({
        dataDir: path.resolve('.data', `snapshot-postgres-${process.pid}`),
        persistent: false,
      });
    } catch (error) {
      throw new ScriptFailure(`cannot start an embedded PostgreSQL: ${errorSummary(error)}`);
    }
    try {
      const url = await ensureDatabase(cluster.url, 'snapshot');
      await runMigrations(url);
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const snapshot = await schemaSnapshot((text, parameters) => client.query(text, parameters).then((r) => r.rows));
        writeFileSync(SCHEMA_SNAPSHOT_FILE, snapshot);
      } finally {
        await client.end();
      }
      process.stdout.write(`Wrote ${path.relative(process.cwd(), SCHEMA_SNAPSHOT_FILE)}\n`);
    } finally {
      await cluster.stop();
    }
  },
);
