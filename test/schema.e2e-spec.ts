import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { applyDatabaseFunctions, functionDrift, readFunctionFiles } from '../src/database/database-functions';
import { databaseOptions, runMigrations } from '../src/database/database.options';
import { MIGRATIONS } from '../src/database/migrations';
import { Baseline1795258801400 } from '../migrations/1795258801400-Baseline';
import {
  schemaDdl,
  schemaSnapshot,
  SCHEMA_SNAPSHOT_FILE,
  seededRows,
  SqlRunner,
  triggerDefinitions,
} from '../src/database/schema-snapshot';
import { createEmptyDatabase, createTestDatabase } from './support/database';
import { LEGACY_MIGRATIONS } from './support/legacy-migrations';
import { UsageLevel, usageLevel, WARNING_PERCENT } from '../src/usage/usage-level';

async function connect(url: string): Promise<{ sql: SqlRunner; end: () => Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return { sql: (text, parameters) => client.query(text, parameters).then((result) => result.rows), end: () => client.end() };
}

describe('database schema (e2e)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let conn: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    conn = await connect(db.url);
  });
  afterAll(async () => {
    await conn.end();
    await db.drop();
  });

  it('gives every function in the database a file in migrations/functions/, and each matches its file', async () => {
    expect(await functionDrift(conn.sql)).toEqual([]);
  });

  it('starts the usage levels where the ledger records its alerts: WARNING at the first threshold, EXHAUSTED at 100 %', async () => {
    const [{ thresholds }] = await conn.sql('SELECT credits_alert_thresholds() AS thresholds');
    expect(thresholds).toEqual([WARNING_PERCENT, 100]);
    expect([usageLevel(WARNING_PERCENT - 1, 100), usageLevel(WARNING_PERCENT, 100), usageLevel(100, 100)]).toEqual([
      UsageLevel.OK,
      UsageLevel.WARNING,
      UsageLevel.EXHAUSTED,
    ]);
  });

  it('opens every function file with a header comment saying what it guarantees and what it locks', () => {
    for (const file of readFunctionFiles()) {
      const header = file.sql.slice(0, file.sql.indexOf('CREATE'));
      expect({ file: file.name, header: /^(--.*\n)+$/.test(header) && /-- Locks: /.test(header) }).toEqual({
        file: file.name,
        header: true,
      });
    }
  });

  it('finds a function changed by hand, one without a file and one dropped, and the next start repairs what has a file', async () => {
    const scratch = await createTestDatabase();
    const other = await connect(scratch.url);
    try {
      await other.sql(`CREATE OR REPLACE FUNCTION credits_extend_holds(p_holds uuid[], p_until timestamptz) RETURNS integer
                       LANGUAGE sql AS 'SELECT 0'`);
      await other.sql(`CREATE FUNCTION stray_helper() RETURNS integer LANGUAGE sql AS 'SELECT 1'`);
      await other.sql(`DROP FUNCTION credits_remaining(text, text, bigint, integer)`);
      await other.sql(`DROP TRIGGER credit_transactions_no_truncate ON credit_transactions`);
      expect((await functionDrift(other.sql)).sort()).toEqual([
        'credit_transactions_append_only: the database\'s definition differs from ' +
          readFunctionFiles().find((file) => file.name === 'credit_transactions_append_only')!.path,
        'credits_extend_holds: the database\'s definition differs from ' +
          readFunctionFiles().find((file) => file.name === 'credits_extend_holds')!.path,
        'credits_remaining: the database has no such function',
        'stray_helper() has no file in migrations/functions/',
      ]);

      const repaired = await applyDatabaseFunctions(other.sql);
      expect(repaired.applied.sort()).toEqual(['credit_transactions_append_only', 'credits_extend_holds', 'credits_remaining']);
      expect(await functionDrift(other.sql)).toEqual(['stray_helper() has no file in migrations/functions/']);
      expect(await applyDatabaseFunctions(other.sql)).toEqual({ applied: [], dropped: [] });
    } finally {
      await other.end();
      await scratch.drop();
    }
  });

  it('applies a file only when its content changed, replacing an old signature, and drops what no file defines any more', async () => {
    const scratch = await createTestDatabase();
    const other = await connect(scratch.url);
    try {
      const files = readFunctionFiles();
      const extend = files.find((file) => file.name === 'credits_extend_holds')!;
      const changed = {
        ...extend,
        sql: `CREATE FUNCTION credits_extend_holds(p_holds uuid[]) RETURNS integer LANGUAGE sql AS 'SELECT 0';\n`,
        hash: 'changed',
      };
      const withChange = files.map((file) => (file === extend ? changed : file));
      expect(await applyDatabaseFunctions(other.sql, withChange)).toEqual({
        applied: ['credits_extend_holds'],
        dropped: ['credits_extend_holds(uuid[],timestamp with time zone)'],
      });
      expect(await applyDatabaseFunctions(other.sql, withChange)).toEqual({ applied: [], dropped: [] });

      const withoutTrigger = withChange.filter((file) => file.name !== 'credit_transactions_append_only');
      const removed = await applyDatabaseFunctions(other.sql, withoutTrigger);
      expect(removed.dropped).toEqual(['credit_transactions_append_only()']);
      expect(
        await other.sql(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = 'credit_transactions'::regclass`),
      ).toEqual([]);

      expect((await applyDatabaseFunctions(other.sql, files)).applied.sort()).toEqual([
        'credit_transactions_append_only',
        'credits_extend_holds',
      ]);
      expect(await functionDrift(other.sql)).toEqual([]);

      // A changed file that defines fewer triggers: the one it dropped does not stay behind.
      const counter = files.find((file) => file.name === 'credits_count_wallet_totals')!;
      const withExtraTrigger = files.map((file) =>
        file === counter
          ? {
              ...counter,
              hash: 'with an extra trigger',
              sql: `${counter.sql}\nCREATE OR REPLACE TRIGGER credit_usage_counted AFTER INSERT ON public.credit_usage ` +
                'REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION credits_count_wallet_totals();\n',
            }
          : file,
      );
      const usageTriggers = () =>
        other.sql(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = 'credit_usage'::regclass`);
      await applyDatabaseFunctions(other.sql, withExtraTrigger);
      expect(await usageTriggers()).toEqual([{ tgname: 'credit_usage_counted' }]);
      expect((await applyDatabaseFunctions(other.sql, files)).applied).toEqual(['credits_count_wallet_totals']);
      expect(await usageTriggers()).toEqual([]);
      expect(await functionDrift(other.sql)).toEqual([]);
    } finally {
      await other.end();
      await scratch.drop();
    }
  });

  it('builds from the baseline migration and the function files the schema the replaced migration history built', async () => {
    const legacy = await createEmptyDatabase();
    // The replaced history, then the migrations written since the baseline.
    const since = MIGRATIONS.slice(MIGRATIONS.indexOf(Baseline1795258801400) + 1);
    const dataSource = new DataSource({ ...databaseOptions(legacy.url, 2), migrations: [...LEGACY_MIGRATIONS, ...since] });
    await dataSource.initialize();
    const old = await connect(legacy.url);
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      // Tables, columns, types, defaults, nullability, constraints, comments, domains, sequences and indexes.
      expect((await schemaDdl(conn.sql)).join('\n')).toEqual((await schemaDdl(old.sql)).join('\n'));
      // Its triggers are all there; function files written since add their own (compared whole below).
      expect(await triggerDefinitions(conn.sql)).toEqual(expect.arrayContaining(await triggerDefinitions(old.sql)));
      expect(await seededRows(conn.sql)).toEqual(await seededRows(old.sql));

      // A database the history built is taken over as it is: the baseline finds it complete, the functions load.
      expect(await runMigrations(legacy.url)).toContain('Baseline1795258801400');
      expect(await schemaSnapshot(old.sql)).toEqual(await schemaSnapshot(conn.sql));
      expect(await functionDrift(old.sql)).toEqual([]);
    } finally {
      await old.end();
      await dataSource.destroy();
      await legacy.drop();
    }
  });

  it('keeps migrations/schema.snapshot.sql equal to what the migrations and function files produce (npm run db:snapshot)', async () => {
    expect(await schemaSnapshot(conn.sql)).toEqual(readFileSync(SCHEMA_SNAPSHOT_FILE, 'utf8'));
  });
});
