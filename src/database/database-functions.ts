import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SqlRunner } from './schema-snapshot';

/**
 * The database functions, one current body each in `migrations/functions/<name>.sql`, in the order they are
 * applied: what a function calls comes before it. A file defines the functions (overloads) of its own name and,
 * for a trigger function, its triggers.
 */
export const DATABASE_FUNCTIONS = [
  'credit_transactions_append_only',
  'credits_count_wallet_totals',
  'credit_transactions_page',
  'credit_usage_page',
  'credits_post',
  'credits_lock_pools',
  'credits_available',
  'credits_remaining',
  'credits_expire_lapsed',
  'credits_debit_grant',
  'credits_collect_owed',
  'credits_grant_priority',
  'credits_grant',
  'credits_expire_allowance',
  'credits_alert_thresholds',
  'credits_crosses_alert',
  'credits_record_alerts',
  'credits_charge',
  'credits_return_allocation',
  'credits_release',
  'credits_capture',
  'credits_release_expired_holds',
  'credits_return_units',
  'credits_consume_batch',
  'credits_hold',
  'credits_capture_whole',
  'credits_guard_batch',
  'credits_claw_back',
  'credits_extend_holds',
  'credits_set_period_allowance',
] as const;

/** `migrations/functions/` of the checkout, found from here both in `src/` (ts-node) and in `dist/src/`. */
function findFunctionsDirectory(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'migrations', 'functions');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`No migrations/functions directory above ${__dirname}`);
  }
}

export interface FunctionFile {
  name: string;
  path: string;
  sql: string;
  /** sha256 of the file with line endings and trailing blanks normalised. */
  hash: string;
}

export function normaliseSql(text: string): string {
  return `${text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim()}\n`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The function files in their declared order. Refuses a file that is not declared and a declared name without one. */
export function readFunctionFiles(directory = findFunctionsDirectory()): FunctionFile[] {
  const present = readdirSync(directory).filter((file) => file.endsWith('.sql'));
  const declared = new Set<string>(DATABASE_FUNCTIONS.map((name) => `${name}.sql`));
  const undeclared = present.filter((file) => !declared.has(file));
  if (undeclared.length) {
    throw new Error(`Database function files not listed in DATABASE_FUNCTIONS: ${undeclared.join(', ')}`);
  }
  return DATABASE_FUNCTIONS.map((name) => {
    const file = path.join(directory, `${name}.sql`);
    if (!existsSync(file)) throw new Error(`DATABASE_FUNCTIONS lists ${name}, but ${file} does not exist`);
    const sql = normaliseSql(readFileSync(file, 'utf8'));
    return { name, path: file, sql, hash: sha256(sql) };
  });
}

const PRODUCT_FUNCTIONS = `
  FROM pg_proc p
  WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`;

/**
 * What PostgreSQL holds for each function name: every overload as pg_get_functiondef prints it, followed by the
 * triggers that call it.
 */
export async function storedDefinitions(sql: SqlRunner): Promise<Map<string, string>> {
  const rows = await sql(`
    SELECT p.proname AS name,
           string_agg(pg_get_functiondef(p.oid) || coalesce(
             (SELECT string_agg(pg_get_triggerdef(t.oid), E'\\n' ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgfoid = p.oid),
             ''), E'\\n' ORDER BY pg_get_function_identity_arguments(p.oid)) AS definition
    ${PRODUCT_FUNCTIONS}
    GROUP BY p.proname`);
  return new Map(rows.map((row) => [row.name as string, row.definition as string]));
}

/** Run right after a file: the overloads of its name that it did not just create or replace. */
const STALE_OVERLOADS = `SELECT p.oid::regprocedure::text AS signature ${PRODUCT_FUNCTIONS}
  AND p.proname = $1 AND p.xmin <> pg_current_xact_id()::xid`;

const BOOKKEEPING = `
  CREATE TABLE IF NOT EXISTS schema_functions (
    name             text PRIMARY KEY,
    file_hash        text NOT NULL,
    definition_hash  text NOT NULL,
    applied_at       timestamptz NOT NULL DEFAULT now()
  )`;

export interface AppliedFunctions {
  /** Files executed because they changed, were new, or the database's functions no longer matched them. */
  applied: string[];
  /** Functions whose file was removed, and overloads a file no longer defines. */
  dropped: string[];
}

/** Drops the triggers that call the function `name`. */
async function dropTriggersOf(sql: SqlRunner, name: string): Promise<void> {
  const triggers = await sql(
    `SELECT format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::regclass) AS statement
     FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = $1 AND p.pronamespace = 'public'::regnamespace`,
    [name],
  );
  for (const { statement } of triggers) await sql(statement);
}

/**
 * Brings the database functions in line with their files, in one transaction. A file is executed only when its
 * content changed since it was last applied, or when what PostgreSQL holds for it is no longer what applying it
 * left (someone replaced or dropped the function by hand). `sql` must run on one connection, while the caller
 * holds the migration lock, so that concurrent starters apply each change once.
 */
export async function applyDatabaseFunctions(
  sql: SqlRunner,
  files: FunctionFile[] = readFunctionFiles(),
): Promise<AppliedFunctions> {
  const result: AppliedFunctions = { applied: [], dropped: [] };
  await sql('BEGIN');
  try {
    await sql(BOOKKEEPING);
    const recorded = new Map(
      (await sql('SELECT name, file_hash, definition_hash FROM schema_functions')).map((row) => [row.name as string, row]),
    );
    const definitions = await storedDefinitions(sql);
    for (const file of files) {
      const record = recorded.get(file.name);
      const current = definitions.get(file.name);
      if (record && record.file_hash === file.hash && current !== undefined && record.definition_hash === sha256(current)) {
        continue;
      }
      // The file defines the function's triggers: those it no longer defines must not stay behind.
      await dropTriggersOf(sql, file.name);
      await sql(file.sql);
      // Overloads of the name that the file did not just create or replace are left from an earlier signature.
      for (const { signature } of await sql(STALE_OVERLOADS, [file.name])) {
        await sql(`DROP FUNCTION ${signature}`);
        result.dropped.push(signature);
      }
      const applied = (await storedDefinitions(sql)).get(file.name);
      if (applied === undefined) throw new Error(`${file.path} did not create a function named ${file.name}`);
      await sql(
        `INSERT INTO schema_functions (name, file_hash, definition_hash) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET file_hash = $2, definition_hash = $3, applied_at = now()`,
        [file.name, file.hash, sha256(applied)],
      );
      result.applied.push(file.name);
    }
    const names = new Set(files.map((file) => file.name));
    for (const name of [...recorded.keys()].filter((recordedName) => !names.has(recordedName))) {
      await dropTriggersOf(sql, name);
      for (const { signature } of await sql(`SELECT p.oid::regprocedure::text AS signature ${PRODUCT_FUNCTIONS} AND p.proname = $1`, [
        name,
      ])) {
        await sql(`DROP FUNCTION ${signature}`);
        result.dropped.push(signature);
      }
      await sql('DELETE FROM schema_functions WHERE name = $1', [name]);
    }
    await sql('COMMIT');
    return result;
  } catch (error) {
    await sql('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * What does not match: functions of the public schema that have no file, files whose function is missing, and
 * functions that differ from their file. A file is compared by executing it in a transaction that is rolled back:
 * it matches when PostgreSQL's definitions (pg_get_functiondef, and its triggers) are the same before and after.
 * `sql` must run on one connection.
 */
export async function functionDrift(sql: SqlRunner, files: FunctionFile[] = readFunctionFiles()): Promise<string[]> {
  const problems: string[] = [];
  const names = new Set(files.map((file) => file.name));
  for (const row of await sql(`SELECT p.oid::regprocedure::text AS signature, p.proname AS name ${PRODUCT_FUNCTIONS} ORDER BY 1`)) {
    if (!names.has(row.name)) problems.push(`${row.signature} has no file in migrations/functions/`);
  }
  const before = await storedDefinitions(sql);
  for (const file of files) {
    const current = before.get(file.name);
    if (current === undefined) {
      problems.push(`${file.name}: the database has no such function`);
      continue;
    }
    await sql('BEGIN');
    try {
      await sql(file.sql);
      const fromFile = (await storedDefinitions(sql)).get(file.name);
      if (fromFile !== current) problems.push(`${file.name}: the database's definition differs from ${file.path}`);
      for (const { signature } of await sql(STALE_OVERLOADS, [file.name])) {
        problems.push(`${signature} is not defined by ${file.path}`);
      }
    } finally {
      await sql('ROLLBACK');
    }
  }
  return problems;
}
