import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { decodeCursor, invalidCursor } from '../common/cursor';
import { Page } from '../common/pagination';
import { toSafeInteger } from '../database/bigint.transformer';
import { CreditPool, CreditType } from './credit-type.enum';
import { CreditBalanceEntity } from './entities/credit-balance.entity';
import { CreditTransactionEntity } from './entities/credit-transaction.entity';
import { CreditUsageEntity } from './entities/credit-usage.entity';

/** Above every row id: the first page starts below it. */
const BIGINT_MAX = '9223372036854775807';

export interface PoolBalance {
  /** Spendable credits; for PROJECT, units in use. */
  balance: number;
  held: number;
}

export interface PeriodAllowance {
  granted: number;
  left: number;
  /** Reserved by pending holds out of this period's allowance (a hold from an earlier period is that period's). */
  held: number;
}

/**
 * One entry of an account's history as a person reads it (credit_transactions_page): a ledger row, or a guarded
 * call's hold read as what the call came to. `balanceAfter` is what remained of the pool after it; null for the
 * PROJECT quota of a plan without a project limit.
 */
export type HistoryEntry = Omit<CreditTransactionEntity, 'balanceAfter'> & { balanceAfter: number | null };

export interface RecordedUsageAlert {
  creditType: CreditType;
  threshold: number;
  used: number;
  limit: number;
  reachedAt: Date;
}

export interface WalletTotals {
  purchased: number;
  used: number;
}

/** Read-only views of an account's credits, for overviews and reports. */
@Injectable()
export class BalancesService {
  constructor(
    private readonly dataSource: DataSource,
    @InjectRepository(CreditBalanceEntity) private readonly balances: Repository<CreditBalanceEntity>,
    @InjectRepository(CreditTransactionEntity) private readonly transactions: Repository<CreditTransactionEntity>,
    @InjectRepository(CreditUsageEntity) private readonly usage: Repository<CreditUsageEntity>,
  ) {}

  /**
   * The account's history, newest first, `first` entries at a time after the cursor (a row id): its ledger rows,
   * with each guarded call read as what it came to, a charge (CAPTURE) once it succeeded and nothing once its credits
   * went back; HOLD only while it runs. Ids only grow, so a page never repeats an entry and entries written meanwhile
   * appear above the first page, never inside later ones. Served by the (account_id, id DESC) index whatever the
   * account's size (credit_transactions_page). `more`: older entries follow; `preceded`: the account has entries at
   * or above the cursor (none come before the first page).
   */
  transactionPage(accountId: string, first: number, after?: string | null): Promise<Page<HistoryEntry>> {
    return this.page(this.transactions, 'credit_transactions_page', accountId, first, after);
  }

  /** Usage records, newest first; paged like transactionPage (credit_usage_page). */
  usagePage(accountId: string, first: number, after?: string | null): Promise<Page<CreditUsageEntity>> {
    return this.page(this.usage, 'credit_usage_page', accountId, first, after);
  }

  private async page<Row extends { id: number; accountId: string }>(
    rows: Repository<Row>,
    pageFunction: 'credit_transactions_page' | 'credit_usage_page',
    accountId: string,
    first: number,
    after?: string | null,
  ): Promise<Page<Row>> {
    const cursorId = after ? this.cursorId(after) : null;
    const raw: Array<Record<string, unknown>> = await this.dataSource.query(`SELECT * FROM ${pageFunction}($1, $2, $3)`, [
      accountId,
      cursorId === null ? BIGINT_MAX : String(cursorId),
      first + 1,
    ]);
    const found = raw.map((values) => this.entityOf(rows, values));
    // Rows come before a page after a cursor when the account's newest row is at or above it: the first row of the
    // first page, read through the same function (a predicate on ids above the cursor could be planned as a scan
    // of the whole table for an account holding most of it).
    const preceded = async () => ((await this.newestId(pageFunction, accountId)) ?? 0) >= cursorId!;
    return { rows: found.slice(0, first), more: found.length > first, preceded: cursorId === null ? false : preceded };
  }

  private async newestId(
    pageFunction: 'credit_transactions_page' | 'credit_usage_page',
    accountId: string,
  ): Promise<number | null> {
    const [newest]: Array<{ id: string }> = await this.dataSource.query(`SELECT id FROM ${pageFunction}($1, $2, 1)`, [
      accountId,
      BIGINT_MAX,
    ]);
    return newest ? Number(newest.id) : null;
  }

  /** A row as the entity it is, each column read as the repository reads it. */
  private entityOf<Row extends object>(rows: Repository<Row>, values: Record<string, unknown>): Row {
    const entity = rows.create();
    for (const column of rows.metadata.columns) {
      column.setEntityValue(entity, this.dataSource.driver.prepareHydratedValue(values[column.databaseName], column));
    }
    return entity;
  }

  private cursorId(cursor: string): number {
    const id = Number(decodeCursor(cursor));
    if (!Number.isSafeInteger(id) || id < 1) throw invalidCursor();
    return id;
  }

  async pools(accountId: string): Promise<Map<CreditPool, PoolBalance>> {
    const rows = await this.balances.findBy({ accountId });
    return new Map(rows.map((row) => [row.pool, { balance: row.balance, held: row.held }]));
  }

  /**
   * MESSAGE and INTEGRATION allowance granted for the period starting at `periodStart` (less what was withheld
   * when its plan stopped being paid), what is left, and what pending holds reserved of it.
   */
  async periodAllowance(accountId: string, periodStart: Date): Promise<Map<CreditType, PeriodAllowance>> {
    const rows: Array<{ pool: CreditType; granted: string; left: string; held: string }> = await this.dataSource.query(
      `SELECT g.pool, sum(g.amount) - coalesce(min(w.withheld), 0) AS granted, sum(g.remaining) AS left,
              coalesce(min(h.held), 0) AS held
         FROM credit_grants g
         LEFT JOIN (SELECT pool, sum(amount) AS withheld FROM allowance_withholdings
                     WHERE account_id = $1 AND period_start = $2 GROUP BY pool) w ON w.pool = g.pool
         LEFT JOIN (SELECT allocation->>'pool' AS pool, sum((allocation->>'amount')::bigint) AS held
                      FROM credit_holds hold, jsonb_array_elements(hold.allocations) allocation
                      JOIN credit_grants held_grant ON held_grant.id = (allocation->>'grant')::uuid
                     WHERE hold.status = 'PENDING' AND hold.account_id = $1
                       AND held_grant.kind = 'ALLOWANCE' AND held_grant.period_start = $2
                     GROUP BY 1) h ON h.pool = g.pool
        WHERE g.account_id = $1 AND g.kind = 'ALLOWANCE' AND g.period_start = $2 GROUP BY g.pool`,
      [accountId, periodStart],
    );
    return new Map(
      rows.map((row) => [
        row.pool,
        { granted: toSafeInteger(row.granted), left: toSafeInteger(row.left), held: toSafeInteger(row.held) },
      ]),
    );
  }

  /** The usage alerts recorded for the period starting at `periodStart`, in the order they were reached. */
  async periodAlerts(accountId: string, periodStart: Date): Promise<RecordedUsageAlert[]> {
    const rows: Array<{ credit_type: CreditType; threshold: number; used: string; credit_limit: string; created_at: Date }> =
      await this.dataSource.query(
        `SELECT credit_type, threshold, used, credit_limit, created_at FROM usage_alerts
          WHERE account_id = $1 AND period_start = $2 ORDER BY id`,
        [accountId, periodStart],
      );
    return rows.map((row) => ({
      creditType: row.credit_type,
      threshold: row.threshold,
      used: toSafeInteger(row.used),
      limit: toSafeInteger(row.credit_limit),
      reachedAt: row.created_at,
    }));
  }

  /**
   * Wallet credits ever purchased, and wallet credits ever spent on usage: the totals kept on the wallet's balance
   * row, so one row is read however long the account's history is.
   */
  async walletTotals(accountId: string): Promise<WalletTotals> {
    const wallet = await this.balances.findOneBy({ accountId, pool: 'WALLET' });
    return { purchased: wallet?.totalPurchased ?? 0, used: wallet?.totalUsed ?? 0 };
  }
}
