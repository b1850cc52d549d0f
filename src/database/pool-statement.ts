import type { QueryConfig } from 'pg';

/** The names of prepared statements: one per distinct text, the same on every connection. */
const names = new Map<string, string>();

/**
 * A statement for the driver's pool. Prepared, it carries a name under which each connection parses and plans it
 * once and then only binds and runs it. Unprepared (DATABASE_PREPARED_STATEMENTS=false) it has no name, so that
 * whichever server connection a pooler hands it to can run it.
 */
export function poolStatement(text: string, values: unknown[], prepared: boolean): QueryConfig {
  if (!prepared) return { text, values };
  let name = names.get(text);
  if (!name) {
    name = `prepared_${names.size + 1}`;
    names.set(text, name);
  }
  return { name, text, values };
}
