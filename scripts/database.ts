import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { AppConfig } from '../src/config/app-config';
import { resolveDatabase, ResolvedDatabase } from '../src/database/database-url';
import { DataSource, DataSourceOptions } from 'typeorm';
import { databaseOptions, runMigrations } from '../src/database/database.options';
import { describeDatabaseUrl, errorSummary, ScriptFailure } from './cli';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * For operator scripts: runs `work` on the configured database (the embedded one when DATABASE_URL is unset), with
 * its schema brought up to date as the service itself does at start-up, and stops an embedded one afterwards,
 * whatever happened. A database that cannot be reached (or an embedded one that cannot start) is a ScriptFailure
 * that says so in one line, before any work begins.
 */
export async function withScriptDatabase<T>(
  config: AppConfig,
  work: (database: ResolvedDatabase) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  Logger.overrideLogger(['error', 'warn', 'log']);
  let database: ResolvedDatabase | undefined;
  try {
    database = await resolveDatabase(config);
    await ping(database.url);
  } catch (error) {
    await database?.embedded?.stop().catch(() => undefined);
    const where = config.DATABASE_URL ? describeDatabaseUrl(config.DATABASE_URL) : 'the embedded PostgreSQL';
    throw new ScriptFailure(`cannot reach ${where}: ${errorSummary(error)}`);
  }
  try {
    if (options.migrate !== false) await runMigrations(database.url);
    return await work(database);
  } finally {
    await database.embedded?.stop();
  }
}

/** `work` with a TypeORM data source of two connections on `database`, closed afterwards. */
export async function withDataSource<T>(
  database: ResolvedDatabase,
  entities: DataSourceOptions['entities'] | undefined,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = new DataSource({ ...databaseOptions(database.url, 2), ...(entities ? { entities } : {}) });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

async function ping(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
