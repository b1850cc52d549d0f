import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The spending order, written once: every grant with credits left, ranked within its account's pool in the order it
 * is spent. Every database function that spends or takes back credits reads grants through this view.
 */
export class SpendingOrder1795258801500 implements MigrationInterface {
  name = 'SpendingOrder1795258801500';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE VIEW credit_grants_in_spending_order AS
      SELECT g.*,
             row_number() OVER (
               PARTITION BY g.account_id, g.pool
               -- An allowance: soonest expiry first, then higher priority, then oldest. The wallet: higher priority
               -- first (promotional and admin credits before purchased ones), then soonest expiry, then oldest.
               ORDER BY CASE WHEN g.pool = 'WALLET' THEN -g.priority ELSE 0 END, g.expires_at NULLS LAST,
                        g.priority DESC, g.created_at, g.id
             ) AS spending_rank
        FROM credit_grants g
       WHERE g.remaining > 0;
      COMMENT ON VIEW credit_grants_in_spending_order IS
        'grants with credits left, spending_rank 1 spent first within each account and pool';
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP VIEW credit_grants_in_spending_order');
  }
}
