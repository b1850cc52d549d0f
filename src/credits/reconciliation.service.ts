import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface ReconcileReport {
  ok: boolean;
  accounts: number;
  transactions: number;
  problems: string[];
}

/**
 * Verifies the ledger's invariant: every cached balance and every grant's remaining equals the sum of its ledger
 * rows, the last row of each pool shows the current balance, held credits match the pending holds, and nothing is
 * negative. Read-only; run it from the `reconcile` script, tests or a monitoring job.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(private readonly dataSource: DataSource) {}

  async reconcile(accountId?: string): Promise<ReconcileReport> {
    const problems: string[] = [];
    const scope = accountId ? [accountId] : [null];
    const query = <T>(sql: string) => this.dataSource.query(sql, scope) as Promise<T[]>;

    const grants = await query<{ id: string; account_id: string; remaining: string; ledger: string }>(`
      SELECT g.id, g.account_id, g.remaining, coalesce(t.total, 0) AS ledger
        FROM credit_grants g
        LEFT JOIN (SELECT grant_id, sum(amount) AS total FROM credit_transactions
                    WHERE grant_id IS NOT NULL AND ($1::text IS NULL OR account_id = $1) GROUP BY grant_id) t
          ON t.grant_id = g.id
       WHERE ($1::text IS NULL OR g.account_id = $1) AND (g.remaining <> coalesce(t.total, 0) OR g.remaining < 0)`);
    for (const row of grants) {
      problems.push(`grant ${row.id} of ${row.account_id}: remaining ${row.remaining}, ledger sum ${row.ledger}`);
    }

    const pools = await query<{
      account_id: string;
      pool: string;
      balance: string;
      held: string;
      ledger: string;
      grants: string;
      held_by_holds: string;
      last_after: string | null;
    }>(`
      WITH ledger AS (
        SELECT account_id, pool, sum(amount) AS total FROM credit_transactions
         WHERE $1::text IS NULL OR account_id = $1 GROUP BY account_id, pool
      ), grants AS (
        SELECT account_id, pool, sum(remaining) AS total FROM credit_grants
         WHERE $1::text IS NULL OR account_id = $1 GROUP BY account_id, pool
      ), holds AS (
        SELECT h.account_id, a->>'pool' AS pool, sum((a->>'amount')::bigint) AS total
          FROM credit_holds h, jsonb_array_elements(h.allocations) a
         WHERE h.status = 'PENDING' AND ($1::text IS NULL OR h.account_id = $1) GROUP BY h.account_id, a->>'pool'
      ), last_rows AS (
        SELECT DISTINCT ON (account_id, pool) account_id, pool, balance_after FROM credit_transactions
         WHERE $1::text IS NULL OR account_id = $1 ORDER BY account_id, pool, id DESC
      )
      SELECT b.account_id, b.pool, b.balance, b.held, coalesce(l.total, 0) AS ledger, coalesce(g.total, 0) AS grants,
             coalesce(h.total, 0) AS held_by_holds, r.balance_after AS last_after
        FROM credit_balances b
        LEFT JOIN ledger l USING (account_id, pool)
        LEFT JOIN grants g USING (account_id, pool)
        LEFT JOIN holds h USING (account_id, pool)
        LEFT JOIN last_rows r USING (account_id, pool)
       WHERE ($1::text IS NULL OR b.account_id = $1)
         AND (b.balance < 0 OR b.held < 0
              OR b.held <> coalesce(h.total, 0)
              OR (b.pool <> 'PROJECT' AND (b.balance <> coalesce(l.total, 0) OR b.balance <> coalesce(g.total, 0)
                                           OR b.balance <> coalesce(r.balance_after, 0)))
              OR (b.pool = 'PROJECT' AND (b.balance + b.held <> -coalesce(l.total, 0)
                                          OR b.balance + b.held <> coalesce(r.balance_after, 0))))`);
    for (const row of pools) {
      problems.push(
        `${row.pool} of ${row.account_id}: balance ${row.balance}, held ${row.held}, ledger sum ${row.ledger}, ` +
          `grants ${row.grants}, held by pending holds ${row.held_by_holds}, last balance_after ${row.last_after}`,
      );
    }

    const [counts] = await query<{ accounts: string; transactions: string }>(`
      SELECT (SELECT count(*) FROM accounts WHERE $1::text IS NULL OR id = $1) AS accounts,
             (SELECT count(*) FROM credit_transactions WHERE $1::text IS NULL OR account_id = $1) AS transactions`);
    const report = {
      ok: problems.length === 0,
      accounts: Number(counts.accounts),
      transactions: Number(counts.transactions),
      problems,
    };
    if (!report.ok) this.logger.error(`Ledger reconciliation found ${problems.length} problem(s)`, { problems });
    return report;
  }
}
