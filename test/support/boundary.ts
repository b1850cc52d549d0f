/** Runs one query: a TypeORM DataSource's or QueryRunner's `query`. */
type Query = (sql: string, parameters?: unknown[]) => Promise<any[]>;

/** Moves the accounts' current period a month back so that it ended two seconds ago: their next charge renews them. */
export async function endCurrentPeriods(query: Query, accountIds: string[]): Promise<void> {
  await query(
    `UPDATE accounts SET period_anchor = now() - interval '1 month' - interval '2 seconds',
                         current_period_start = now() - interval '1 month' - interval '2 seconds',
                         current_period_end = now() - interval '2 seconds'
      WHERE id = ANY ($1)`,
    [accountIds],
  );
}

/** The deadlocks PostgreSQL has counted in this database so far (read past the statistics snapshot). */
export async function deadlocksCounted(query: Query): Promise<number> {
  await query('SELECT pg_stat_clear_snapshot()');
  const [row] = await query('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()');
  return row.n as number;
}
