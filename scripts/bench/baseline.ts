import { Client } from 'pg';
import { measure, Measurement } from './measure';

export const BASELINE_ACCOUNTS = 10_000;

/**
 * The raw PostgreSQL limit for this work: one debit per transaction (a conditional UPDATE and a ledger INSERT),
 * driven from Node through `pg`, as pgbench would drive it.
 */
export async function prepareBaseline(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`
    DROP TABLE IF EXISTS bench_ledger; DROP TABLE IF EXISTS bench_balances;
    CREATE TABLE bench_balances (id integer PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
    CREATE TABLE bench_ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account integer NOT NULL,
                               amount bigint NOT NULL, balance_after bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO bench_balances SELECT n, 1000000000000 FROM generate_series(1, ${BASELINE_ACCOUNTS}) n;
    ANALYZE bench_balances;`);
  await client.end();
}

export async function runBaseline(
  url: string,
  clients: number,
  durationMs: number,
  hot: boolean,
): Promise<Measurement> {
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  try {
    return await measure(clients, durationMs, async (index) => {
      const client = connections[index];
      const account = hot ? 1 : 1 + Math.floor(Math.random() * BASELINE_ACCOUNTS);
      await client.query('BEGIN');
      const { rows } = await client.query(
        'UPDATE bench_balances SET balance = balance - 1 WHERE id = $1 AND balance >= 1 RETURNING balance',
        [account],
      );
      await client.query('INSERT INTO bench_ledger (account, amount, balance_after) VALUES ($1, -1, $2)', [
        account,
        rows[0].balance,
      ]);
      await client.query('COMMIT');
    });
  } finally {
    await Promise.all(connections.map((client) => client.end()));
  }
}
