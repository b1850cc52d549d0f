import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The wallet's lifetime totals live on its balance row, so the billing overview reads one row whatever the size
 * of the account's history: total_purchased (the amounts of its PURCHASE grants) and total_used (wallet credits
 * spent on usage, the sum of credit_usage.from_wallet). credits_count_wallet_totals keeps them as grants and usage
 * records are written; here they are counted once from the rows already there.
 */
export class WalletTotals1795258801600 implements MigrationInterface {
  name = 'WalletTotals1795258801600';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE credit_balances
        ADD COLUMN total_purchased credit_quantity NOT NULL DEFAULT 0,
        ADD COLUMN total_used credit_quantity NOT NULL DEFAULT 0,
        ADD CONSTRAINT credit_balances_wallet_totals_check
          CHECK (pool = 'WALLET' OR (total_purchased = 0 AND total_used = 0));
      COMMENT ON COLUMN credit_balances.total_purchased IS
        'WALLET: credits ever purchased (the amounts of its PURCHASE grants); 0 for the other pools';
      COMMENT ON COLUMN credit_balances.total_used IS
        'WALLET: wallet credits ever spent on usage (the sum of credit_usage.from_wallet); 0 for the other pools';

      LOCK TABLE credit_grants, credit_usage IN SHARE MODE;
      UPDATE credit_balances b SET total_purchased = t.total
        FROM (SELECT account_id, sum(amount) AS total FROM credit_grants
               WHERE pool = 'WALLET' AND kind = 'PURCHASE' GROUP BY account_id) t
       WHERE b.account_id = t.account_id AND b.pool = 'WALLET';
      UPDATE credit_balances b SET total_used = t.total
        FROM (SELECT account_id, sum(from_wallet) AS total FROM credit_usage
               WHERE from_wallet > 0 GROUP BY account_id) t
       WHERE b.account_id = t.account_id AND b.pool = 'WALLET';
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE credit_balances
        DROP CONSTRAINT credit_balances_wallet_totals_check,
        DROP COLUMN total_used,
        DROP COLUMN total_purchased;
    `);
  }
}
