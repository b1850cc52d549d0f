import 'dotenv/config';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { AppConfig } from '../src/config/app-config';
import { resolveDatabase, ResolvedDatabase } from '../src/database/database-url';
import { runMigrations } from '../src/database/database.options';
import { describeDatabaseUrl, errorSummary, ScriptFailure } from './cli';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * For operator scripts: the configured database (the embedded one when DATABASE_URL is unset), with its schema
 * brought up to date as the service itself does at start-up. A database that cannot be reached (or an embedded one
 * that cannot start) is a ScriptFailure that says so in one line, before any work begins.
 */
export async function scriptDatabase(config: AppConfig, options: { migrate?: boolean } = {}): Promise<ResolvedDatabase> {
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
  if (options.migrate !== false) await runMigrations(database.url);
  return database;
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
