import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface ReconcileReport {
  ok: boolean;
  accounts: number;
  transactions: number;
  problems: string[];
}

/**
 * The whole check in one statement, reading the ledger once: its rows are summed per account, pool and grant in
 * one pass (with the newest row of each group), and everything else is compared with those sums. $1 is an account
 * id, or null for every account. Answers one row per problem (`grant` or `pool`) and one `counts` row.
 */
export const RECONCILE_SQL = `
  WITH ledger AS MATERIALIZED (
    SELECT account_id, pool, grant_id, sum(amount) AS total, count(*) AS rows, max(id) AS last_id
      FROM credit_transactions
     WHERE $1::text IS NULL OR account_id = $1
     GROUP BY account_id, pool, grant_id
  ), ledger_grants AS (
    SELECT grant_id, sum(total) AS total FROM ledger WHERE grant_id IS NOT NULL GROUP BY grant_id
  ), ledger_pools AS (
    SELECT account_id, pool, sum(total) AS total, max(last_id) AS last_id FROM ledger GROUP BY account_id, pool
  ), grants AS (
    SELECT account_id, pool, sum(remaining) AS total,
           sum(amount) FILTER (WHERE pool = 'WALLET' AND kind = 'PURCHASE') AS purchased
      FROM credit_grants
     WHERE $1::text IS NULL OR account_id = $1 GROUP BY account_id, pool
  ), holds AS (
    SELECT h.account_id, a->>'pool' AS pool, sum((a->>'amount')::bigint) AS total
      FROM credit_holds h, jsonb_array_elements(h.allocations) a
     WHERE h.status = 'PENDING' AND ($1::text IS NULL OR h.account_id = $1) GROUP BY h.account_id, a->>'pool'
  ), wallet_use AS (
    SELECT account_id, 'WALLET' AS pool, sum(from_wallet) AS total FROM credit_usage
     WHERE from_wallet > 0 AND ($1::text IS NULL OR account_id = $1) GROUP BY account_id
  ), pools AS (
    SELECT b.account_id, b.pool, b.balance, b.held, b.total_purchased, b.total_used,
           coalesce(l.total, 0) AS ledger, coalesce(g.total, 0) AS grants, coalesce(h.total, 0) AS held_by_holds,
           (SELECT t.balance_after FROM credit_transactions t WHERE t.id = l.last_id) AS last_after,
           coalesce(g.purchased, 0) AS purchase_grants, coalesce(u.total, 0) AS usage_from_wallet
      FROM credit_balances b
      LEFT JOIN ledger_pools l USING (account_id, pool)
      LEFT JOIN grants g USING (account_id, pool)
      LEFT JOIN holds h USING (account_id, pool)
      LEFT JOIN wallet_use u USING (account_id, pool)
     WHERE $1::text IS NULL OR b.account_id = $1
  )
  SELECT 'grant' AS kind, jsonb_build_object('id', g.id, 'account_id', g.account_id, 'remaining', g.remaining,
                                             'ledger', coalesce(l.total, 0)) AS row
    FROM credit_grants g LEFT JOIN ledger_grants l ON l.grant_id = g.id
   WHERE ($1::text IS NULL OR g.account_id = $1) AND (g.remaining <> coalesce(l.total, 0) OR g.remaining < 0)
  UNION ALL
  SELECT 'pool', to_jsonb(p) FROM pools p
   WHERE p.balance < 0 OR p.held < 0
      OR p.held <> p.held_by_holds
      OR (p.pool <> 'PROJECT' AND (p.balance <> p.ledger OR p.balance <> p.grants
                                   OR p.balance <> coalesce(p.last_after, 0)))
      OR (p.pool = 'PROJECT' AND (p.balance + p.held <> -p.ledger OR p.balance + p.held <> coalesce(p.last_after, 0)))
      OR p.total_purchased <> p.purchase_grants OR p.total_used <> p.usage_from_wallet
  UNION ALL
  SELECT 'counts', jsonb_build_object(
    'accounts', (SELECT count(*) FROM accounts WHERE $1::text IS NULL OR id = $1),
    'transactions', (SELECT coalesce(sum(rows), 0) FROM ledger))`;

type Json = string | number | null;

/**
 * Verifies the ledger's invariant: every cached balance and every grant's remaining equals the sum of its ledger
 * rows, the last row of each pool shows the current balance, held credits match the pending holds, the wallet's
 * lifetime totals match its purchase grants and usage records, and nothing is negative. Read-only; run it from the
 * `reconcile` script, tests or a monitoring job.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(private readonly dataSource: DataSource) {}

  async reconcile(accountId?: string): Promise<ReconcileReport> {
    const rows: Array<{ kind: 'grant' | 'pool' | 'counts'; row: Record<string, Json> }> = await this.dataSource.query(
      RECONCILE_SQL,
      [accountId ?? null],
    );
    const problems: string[] = [];
    let counts: Record<string, Json> = {};
    for (const { kind, row } of rows) {
      if (kind === 'counts') counts = row;
      else if (kind === 'grant') {
        problems.push(`grant ${row.id} of ${row.account_id}: remaining ${row.remaining}, ledger sum ${row.ledger}`);
      } else {
        problems.push(
          `${row.pool} of ${row.account_id}: balance ${row.balance}, held ${row.held}, ledger sum ${row.ledger}, ` +
            `grants ${row.grants}, held by pending holds ${row.held_by_holds}, last balance_after ${row.last_after}` +
            (row.pool === 'WALLET'
              ? `, total purchased ${row.total_purchased} (purchase grants ${row.purchase_grants}), ` +
                `total used ${row.total_used} (usage paid from the wallet ${row.usage_from_wallet})`
              : ''),
        );
      }
    }
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
