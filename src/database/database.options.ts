import { DataSource, DataSourceOptions } from 'typeorm';
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

/**
 * Brings the schema up to date. Several instances may start together: an advisory lock lets one migrate while the
 * others wait and then find nothing left to do.
 */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = new DataSource({ ...databaseOptions(url, 2), logging: false });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}
