import { Logger } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';
import { applyDatabaseFunctions, functionDrift, readFunctionFiles } from './database-functions';
import { MIGRATIONS } from './migrations';

export function databaseOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    // Failed queries surface as exceptions, which the error filter logs; TypeORM's console logger stays off.
    logging: false,
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
  };
}

// Any number taken from the same arbitrary constant keeps concurrent starters from migrating at once.
const MIGRATION_LOCK = 7_301_948_221;
const logger = new Logger('Migrations');

/**
 * Brings the schema up to date: pending migrations, then the database functions of migrations/functions/ whose
 * files changed. Several instances may start together: an advisory lock lets one migrate while the others wait and
 * then find nothing left to do. A function of the public schema without a file is logged. Answers what was applied:
 * migration names, then `functions/<name>.sql` files.
 *
 * The lock is transaction-scoped and held by a transaction of its own, open from before the work until after it, so
 * that it works through a pooler in transaction mode as well: a session lock would stay with whichever server
 * connection took it, and its unlock could go to another. The work runs on other connections, each migration in its
 * own transaction; if the process dies, its connection closes and the lock goes with its transaction. The lock's
 * transaction is idle meanwhile: a server's `idle_in_transaction_session_timeout` must outlast the migrations.
 */
export async function runMigrations(url: string): Promise<string[]> {
  const files = readFunctionFiles();
  // The lock's connection, the migrations' and the functions'.
  const dataSource = new DataSource({ ...databaseOptions(url, 3), logging: false });
  await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  const runner = dataSource.createQueryRunner();
  try {
    await lock.startTransaction();
    await lock.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    const sql = (text: string, parameters?: unknown[]) => runner.query(text, parameters);
    const functions = await applyDatabaseFunctions(sql, files);
    for (const signature of functions.dropped) logger.log(`Dropped database function ${signature}: no file defines it`);
    for (const problem of await functionDrift(sql, files)) logger.warn(`Database function drift: ${problem}`);
    return [...applied.map((migration) => migration.name), ...functions.applied.map((name) => `functions/${name}.sql`)];
  } finally {
    if (lock.isTransactionActive) await lock.rollbackTransaction().catch(() => undefined);
    await lock.release();
    await runner.release();
    await dataSource.destroy();
  }
}
