import { Client, Pool, QueryConfig } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { runMigrations } from '../src/database/database.options';
import { MIGRATIONS } from '../src/database/migrations';
import { createEmptyDatabase, testPooler } from './support/database';
import { startTestApp } from './support/test-app';

/**
 * Behind a pooler in transaction mode, consecutive statements of one client connection may run on different server
 * connections, so nothing of the service may outlive a transaction on its server connection. The jest project
 * `pgbouncer` runs this file, and the ledger and enforcement specs, through PgBouncer (test/support/through-pgbouncer.ts).
 */
describe('through PgBouncer in transaction pooling mode (e2e)', () => {
  /** A connection to the server itself (not through the pooler), to the database of `url`. */
  const direct = async <T>(url: string, work: (client: Client) => Promise<T>): Promise<T> => {
    const target = new URL(process.env.TEST_DATABASE_SERVER_URL!);
    target.pathname = new URL(url).pathname;
    const client = new Client({ connectionString: target.toString() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  it('migrates once when several instances start together, and leaves no lock behind', async () => {
    const database = await createEmptyDatabase();
    try {
      const results = await Promise.all(Array.from({ length: 4 }, () => runMigrations(testPooler()!.route(database.url))));
      const migrated = results.filter((applied) => applied.length > 0);
      expect(migrated).toHaveLength(1);
      expect(migrated[0]).toEqual(expect.arrayContaining([...MIGRATIONS.map((migration) => migration.name), 'functions/credits_charge.sql']));
      await direct(database.url, async (client) => {
        const { rows } = await client.query(
          `SELECT (SELECT count(*) FROM schema_migrations)::int AS migrations,
                  (SELECT count(*) FROM pg_locks
                    WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))::int AS locks`,
        );
        expect(rows[0]).toEqual({ migrations: MIGRATIONS.length, locks: 0 });
      });
    } finally {
      await database.drop();
    }
  });

  it("shares a few server connections among the service pool's connections", async () => {
    const t = await startTestApp();
    try {
      await Promise.all(Array.from({ length: 20 }, () => t.dataSource.query('SELECT pg_sleep(0.1)')));
      expect(((t.dataSource.driver as PostgresDriver).master as Pool).totalCount).toBe(20);
      const backends = await direct(t.databaseUrl, async (client) => {
        const { rows } = await client.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
        return rows[0].n as number;
      });
      expect(backends).toBeGreaterThan(0);
      expect(backends).toBeLessThanOrEqual(testPooler()!.poolSize);
    } finally {
      await t.close();
    }
  });

  it('names no statement with DATABASE_PREPARED_STATEMENTS=false', async () => {
    const t = await startTestApp({ DATABASE_PREPARED_STATEMENTS: 'false' });
    const sent = jest.spyOn(Client.prototype, 'query');
    try {
      const credits = t.app.get(CreditsService);
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => credits.consume(`pooled-${i % 2}`, { type: CreditType.INTEGRATION, amount: 1 })),
      );
      expect(outcomes.every((outcome) => outcome.allowed)).toBe(true);
      const holds = await Promise.all([0, 1].map((i) => credits.hold(`pooled-${i}`, [{ type: CreditType.MESSAGE, amount: 1 }])));
      await Promise.all(holds.map((hold, i) => credits.capture(`pooled-${i}`, hold.id)));
      const named = sent.mock.calls.map(([query]) => query as unknown as QueryConfig).filter((query) => typeof query === 'object' && query.name);
      expect(sent.mock.calls.length).toBeGreaterThan(0);
      expect(named).toEqual([]);
      await t.expectLedgerReconciles();
    } finally {
      sent.mockRestore();
      await t.close();
    }
  });
});
