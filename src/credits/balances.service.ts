import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { toSafeInteger } from '../database/bigint.transformer';
import { CreditPool, CreditType } from './credit-type.enum';
import { CreditBalanceEntity } from './entities/credit-balance.entity';

export interface PoolBalance {
  /** Spendable credits; for PROJECT, units in use. */
  balance: number;
  held: number;
}

export interface PeriodAllowance {
  granted: number;
  left: number;
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
  ) {}

  async pools(accountId: string): Promise<Map<CreditPool, PoolBalance>> {
    const rows = await this.balances.findBy({ accountId });
    return new Map(rows.map((row) => [row.pool, { balance: row.balance, held: row.held }]));
  }

  /** MESSAGE and INTEGRATION allowance granted for the period starting at `periodStart`, and what is left. */
  async periodAllowance(accountId: string, periodStart: Date): Promise<Map<CreditType, PeriodAllowance>> {
    const rows: Array<{ pool: CreditType; granted: string; left: string }> = await this.dataSource.query(
      `SELECT pool, sum(amount) AS granted, sum(remaining) AS left FROM credit_grants
        WHERE account_id = $1 AND kind = 'ALLOWANCE' AND period_start = $2 GROUP BY pool`,
      [accountId, periodStart],
    );
    return new Map(
      rows.map((row) => [row.pool, { granted: toSafeInteger(row.granted), left: toSafeInteger(row.left) }]),
    );
  }

  /** Wallet credits ever purchased, and wallet credits ever spent on usage. */
  async walletTotals(accountId: string): Promise<WalletTotals> {
    const [totals]: Array<{ purchased: string; used: string }> = await this.dataSource.query(
      `SELECT (SELECT coalesce(sum(amount), 0) FROM credit_grants
                WHERE account_id = $1 AND pool = 'WALLET' AND kind = 'PURCHASE') AS purchased,
              (SELECT coalesce(sum(from_wallet), 0) FROM credit_usage
                WHERE account_id = $1 AND from_wallet > 0) AS used`,
      [accountId],
    );
    return { purchased: toSafeInteger(totals.purchased), used: toSafeInteger(totals.used) };
  }
}
