import { MigrationInterface, QueryRunner } from 'typeorm';

/** The plans and credit packages the product launches with. Operators may edit prices and limits afterwards. */
export class SeedCatalog1795258800200 implements MigrationInterface {
  name = 'SeedCatalog1795258800200';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT INTO plans (code, name, rank, price_cents, message_limit, integration_limit, project_limit, stripe_lookup_key)
      VALUES
        ('FREE',    'Free',    0,     0,   10,    100,    3, 'plan_free_monthly'),
        ('STARTER', 'Starter', 1,  1900,  100,   2000, NULL, 'plan_starter_monthly'),
        ('BUILDER', 'Builder', 2,  4900,  250,  10000, NULL, 'plan_builder_monthly'),
        ('PRO',     'Pro',     3,  9900,  500,  20000, NULL, 'plan_pro_monthly'),
        ('ELITE',   'Elite',   4, 19900, 1200,  50000, NULL, 'plan_elite_monthly');

      INSERT INTO credit_packages (id, name, credits, price_cents, most_popular, sort_order, stripe_lookup_key)
      VALUES
        ('starter', 'Starter',   100,   500, false, 1, 'credits_starter'),
        ('small',   'Small',     500,  2000, false, 2, 'credits_small'),
        ('popular', 'Popular',  1000,  3500, true,  3, 'credits_popular'),
        ('power',   'Power',    5000, 15000, false, 4, 'credits_power'),
        ('maximum', 'Maximum', 10000, 25000, false, 5, 'credits_maximum');
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM credit_packages; DELETE FROM plans;`);
  }
}
