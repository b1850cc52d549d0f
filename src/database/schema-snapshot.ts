/**
 * The database's schema as text, read from PostgreSQL's catalogs: domains, sequences, tables (columns, defaults,
 * constraints, storage options, comments), indexes, views, triggers, functions and the rows a fresh database is seeded
 * with. Deterministic, so two databases built differently can be compared line by line, and committed as
 * `migrations/schema.snapshot.sql` (`npm run db:snapshot`) so a reviewer sees the whole schema in one place.
 *
 * The DDL part (`schemaDdl`) is valid SQL that recreates the tables of an empty database.
 */
import path from 'node:path';

export const SCHEMA_SNAPSHOT_FILE = path.resolve(process.cwd(), 'migrations', 'schema.snapshot.sql');

/** Runs one query and answers its rows: a pg `Client`, a TypeORM `QueryRunner` or `DataSource` all fit. */
export type SqlRunner = (text: string, parameters?: unknown[]) => Promise<any[]>;

/** Tables kept by the tooling itself (TypeORM's migration list, the function loader's hashes), not by the product. */
export const BOOKKEEPING_TABLES = ['schema_migrations', 'schema_functions'];

const PUBLIC = `'public'::regnamespace`;

const quoteIdent = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
const quoteLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

async function domains(sql: SqlRunner): Promise<string[]> {
  const rows = await sql(`
    SELECT t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS base, t.typdefault AS "default",
           coalesce((SELECT string_agg(format(' CONSTRAINT %I %s', c.conname,
                                              CASE c.contype WHEN 'n' THEN 'NOT NULL' ELSE pg_get_constraintdef(c.oid) END),
                                       '' ORDER BY c.conname)
                     FROM pg_constraint c WHERE c.contypid = t.oid), '') AS constraints
    FROM pg_type t
    WHERE t.typnamespace = ${PUBLIC} AND t.typtype = 'd'
    ORDER BY t.typname`);
  return rows.map(
    (row) => `CREATE DOMAIN ${quoteIdent(row.name)} AS ${row.base}${row.default ? ` DEFAULT ${row.default}` : ''}${row.constraints};`,
  );
}

/** Sequences behind serial columns (identity columns' sequences come with their column). */
async function serialSequences(sql: SqlRunner): Promise<{ create: string[]; own: string[] }> {
  const rows = await sql(
    `
    SELECT s.relname AS name, format_type(q.seqtypid, NULL) AS type, t.relname AS "table", a.attname AS "column"
    FROM pg_class s
    JOIN pg_sequence q ON q.seqrelid = s.oid
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass
                         AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_class t ON t.oid = d.refobjid
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE s.relnamespace = ${PUBLIC} AND s.relkind = 'S' AND coalesce(d.deptype, 'a') = 'a'
      AND coalesce(t.relname, '') <> ALL ($1::text[])
    ORDER BY s.relname`,
    [BOOKKEEPING_TABLES],
  );
  return {
    create: rows.map((row) => `CREATE SEQUENCE ${quoteIdent(row.name)} AS ${row.type};`),
    own: rows
      .filter((row) => row.table)
      .map((row) => `ALTER SEQUENCE ${quoteIdent(row.name)} OWNED BY ${quoteIdent(row.table)}.${quoteIdent(row.column)};`),
  };
}

async function tables(sql: SqlRunner): Promise<{ create: string[]; foreignKeys: string[] }> {
  const tableRows = await sql(
    `
    SELECT c.oid, c.relname AS name, c.reloptions AS options,
           coalesce((SELECT array_agg(DISTINCT f.confrelid::regclass::text) FROM pg_constraint f
                     WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid), '{}') AS refs
    FROM pg_class c
    WHERE c.relnamespace = ${PUBLIC} AND c.relkind = 'r' AND c.relname <> ALL ($1::text[])
    ORDER BY c.relname`,
    [BOOKKEEPING_TABLES],
  );
  const columnRows = await sql(
    `
    SELECT a.attrelid AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attidentity AS identity, a.attgenerated AS generated, pg_get_expr(d.adbin, d.adrelid) AS "default",
           nn.conname AS not_null, c.relname AS table_name
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey = ARRAY[a.attnum]
    WHERE c.relnamespace = ${PUBLIC} AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attrelid, a.attnum`,
  );
  const constraintRows = await sql(`
    SELECT c.conrelid AS table, c.conname AS name, c.contype AS type, pg_get_constraintdef(c.oid) AS definition,
           c.confrelid::regclass::text AS refers_to
    FROM pg_constraint c
    WHERE c.connamespace = ${PUBLIC} AND c.conrelid <> 0 AND c.contype <> 'n'
    ORDER BY c.conrelid, array_position(ARRAY['p', 'u', 'c', 'x', 'f']::"char"[], c.contype), c.conname`);
  const commentRows = await sql(`
    SELECT d.objoid AS table, d.objsubid AS column, d.description AS text, a.attname AS column_name
    FROM pg_description d
    JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
    LEFT JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
    WHERE c.relnamespace = ${PUBLIC} AND c.relkind = 'r'
    ORDER BY d.objoid, d.objsubid`);

  // Referenced tables first, so that foreign keys can stand inside CREATE TABLE; a cycle's keys come after all tables.
  const ordered: typeof tableRows = [];
  const created = new Set<string>();
  const pending = [...tableRows];
  while (pending.length) {
    const next = pending.findIndex((table) => (table.refs as string[]).every((ref) => created.has(ref)));
    const [table] = pending.splice(next === -1 ? 0 : next, 1);
    ordered.push(table);
    created.add(table.name);
  }

  const create: string[] = [];
  const foreignKeys: string[] = [];
  const done = new Set<string>();
  for (const table of ordered) {
    const name = quoteIdent(table.name);
    const lines = columnRows
      .filter((column) => column.table === table.oid)
      .map((column) => {
        let line = `${quoteIdent(column.name)} ${column.type}`;
        if (column.identity) line += ` GENERATED ${column.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
        else if (column.generated) line += ` GENERATED ALWAYS AS (${column.default}) STORED`;
        else if (column.default !== null) line += ` DEFAULT ${column.default}`;
        if (column.not_null) {
          const defaultName = `${table.name}_${column.name}_not_null`;
          line += column.not_null === defaultName ? ' NOT NULL' : ` CONSTRAINT ${quoteIdent(column.not_null)} NOT NULL`;
        }
        return line;
      });
    for (const constraint of constraintRows.filter((row) => row.table === table.oid)) {
      const clause = `CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition}`;
      if (constraint.type === 'f' && constraint.refers_to !== table.name && !done.has(constraint.refers_to)) {
        foreignKeys.push(`ALTER TABLE ${name} ADD ${clause};`);
      } else {
        lines.push(clause);
      }
    }
    const options = table.options ? ` WITH (${(table.options as string[]).join(', ')})` : '';
    create.push(`CREATE TABLE ${name} (\n  ${lines.join(',\n  ')}\n)${options};`);
    for (const comment of commentRows.filter((row) => row.table === table.oid)) {
      const target = comment.column === 0 ? `TABLE ${name}` : `COLUMN ${name}.${quoteIdent(comment.column_name)}`;
      create.push(`COMMENT ON ${target} IS ${quoteLiteral(comment.text)};`);
    }
    done.add(table.name);
  }
  return { create, foreignKeys };
}

async function indexes(sql: SqlRunner): Promise<string[]> {
  const rows = await sql(
    `
    SELECT pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_class x ON x.oid = i.indexrelid
    WHERE t.relnamespace = ${PUBLIC} AND t.relname <> ALL ($1::text[])
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
    ORDER BY t.relname, x.relname`,
    [BOOKKEEPING_TABLES],
  );
  return rows.map((row) => `${row.definition};`);
}

/** Tables, domains, sequences and indexes: SQL that recreates them in an empty database. */
export async function schemaDdl(sql: SqlRunner): Promise<string[]> {
  const sequences = await serialSequences(sql);
  const { create, foreignKeys } = await tables(sql);
  return [...(await domains(sql)), ...sequences.create, ...create, ...foreignKeys, ...sequences.own, ...(await indexes(sql))];
}

export async function triggerDefinitions(sql: SqlRunner): Promise<string[]> {
  const rows = await sql(`
    SELECT pg_get_triggerdef(t.oid) AS definition
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = ${PUBLIC} AND NOT t.tgisinternal
    ORDER BY c.relname, t.tgname`);
  return rows.map((row) => `${row.definition};`);
}

/** Every function of the public schema that no extension brought, as PostgreSQL prints it. */
export async function functionDefinitions(sql: SqlRunner): Promise<{ name: string; definition: string }[]> {
  return sql(`
    SELECT p.proname AS name, pg_get_functiondef(p.oid) AS definition
    FROM pg_proc p
    WHERE p.pronamespace = ${PUBLIC} AND p.prokind IN ('f', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)`);
}

/**
 * The rows of every product table, one JSON object a line, leaving out columns whose default differs with each
 * run (a creation time, a random id). Meant for a freshly migrated database: what the migrations seed.
 */
export async function seededRows(sql: SqlRunner): Promise<string[]> {
  const tableRows = await sql(
    `
    SELECT c.relname AS name,
           coalesce((SELECT array_agg(a.attname::text) FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                     WHERE a.attrelid = c.oid AND pg_get_expr(d.adbin, d.adrelid) ~ '(now|random|clock_timestamp|nextval)\\('), '{}') AS volatile
    FROM pg_class c
    WHERE c.relnamespace = ${PUBLIC} AND c.relkind = 'r' AND c.relname <> ALL ($1::text[])
    ORDER BY c.relname`,
    [BOOKKEEPING_TABLES],
  );
  const lines: string[] = [];
  for (const table of tableRows) {
    const rows = await sql(`SELECT (to_jsonb(t) - $1::text[])::text AS row FROM ${quoteIdent(table.name)} t ORDER BY 1`, [
      table.volatile,
    ]);
    lines.push(...rows.map((row) => `${table.name} ${row.row}`));
  }
  return lines;
}

/** The whole schema as one text: what `migrations/schema.snapshot.sql` holds. */
/** Views, as PostgreSQL prints their queries. */
export async function viewDefinitions(sql: SqlRunner): Promise<string[]> {
  const rows = await sql(`
    SELECT c.relname AS name, pg_get_viewdef(c.oid, true) AS definition
    FROM pg_class c
    WHERE c.relnamespace = ${PUBLIC} AND c.relkind = 'v'
    ORDER BY c.relname`);
  return rows.map((row) => `CREATE VIEW ${quoteIdent(row.name)} AS\n${String(row.definition).trimEnd()}`);
}

export async function schemaSnapshot(sql: SqlRunner): Promise<string> {
  const functions = await functionDefinitions(sql);
  const sections = [
    [
      '-- The schema the migrations and migrations/functions/ produce, read back from PostgreSQL.',
      '-- Generated by `npm run db:snapshot`; a test fails when it differs from what they produce. Do not edit.',
    ].join('\n'),
    ['-- Tables, domains, sequences and indexes', ...(await schemaDdl(sql))].join('\n\n'),
    ['-- Views', ...(await viewDefinitions(sql))].join('\n\n'),
    ['-- Triggers', ...(await triggerDefinitions(sql))].join('\n\n'),
    ['-- Functions', ...functions.map((fn) => `${fn.definition.trimEnd()};`)].join('\n\n'),
    ['-- Rows a new database starts with', ...(await seededRows(sql)).map((row) => `-- ${row}`)].join('\n'),
  ];
  return `${sections.join('\n\n')}\n`;
}
