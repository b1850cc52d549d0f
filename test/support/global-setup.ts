import { Logger } from '@nestjs/common';
import path from 'node:path';
import { Client } from 'pg';
import { ensureDatabase, startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMigrations } from '../../src/database/database.options';
import { TEST_LOG_LEVELS } from './log-level';

/**
 * Prepares one migrated template database for the run. Each spec file then copies it into a database of its own
 * (see database.ts), so specs run in parallel without seeing each other's rows. With DATABASE_URL set, that server
 * is used; otherwise a throw-away embedded PostgreSQL.
 */
export default async function globalSetup(): Promise<void> {
  Logger.overrideLogger(TEST_LOG_LEVELS);
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const cluster = await startEmbeddedPostgres({
      dataDir: path.resolve(__dirname, '..', '..', '.data', `test-postgres-${process.pid}`),
      persistent: false,
    });
    (globalThis as { testCluster?: unknown }).testCluster = cluster;
    serverUrl = cluster.url;
  }
  const template = `billing_test_template_${process.pid}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.end();
  const templateUrl = await ensureDatabase(serverUrl, template);
  await runMigrations(templateUrl);
  process.env.TEST_DATABASE_SERVER_URL = serverUrl;
  process.env.TEST_DATABASE_TEMPLATE = template;
}
