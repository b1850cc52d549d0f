import { MigrationInterface, QueryRunner } from 'typeorm';

/** Credit purchases through Stripe Checkout, Stripe events seen, and the subscription state kept on accounts. */
export class Billing1795258800400 implements MigrationInterface {
  name = 'Billing1795258800400';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE credit_purchases (
        id                          uuid PRIMARY KEY,
        account_id                  text NOT NULL REFERENCES accounts (id),
        package_id                  text NOT NULL REFERENCES credit_packages (id),
        credits                     integer NOT NULL CHECK (credits > 0),
        amount_cents                integer NOT NULL CHECK (amount_cents >= 0),
        currency                    text NOT NULL,
        status                      text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'REFUNDED', 'FAILED')),
        stripe_checkout_session_id  text UNIQUE,
        stripe_payment_intent_id    text UNIQUE,
        grant_id                    uuid REFERENCES credit_grants (id),
        credits_clawed_back         integer NOT NULL DEFAULT 0 CHECK (credits_clawed_back BETWEEN 0 AND credits),
        created_at                  timestamptz NOT NULL,
        completed_at                timestamptz,
        refunded_at                 timestamptz
      );
      CREATE INDEX credit_purchases_account_idx ON credit_purchases (account_id, created_at DESC, id DESC);

      -- Every Stripe event is stored once, in the transaction that applies it: a replay finds its id and does nothing.
      CREATE TABLE stripe_events (
        id           text PRIMARY KEY,
        type         text NOT NULL,
        created_at   timestamptz NOT NULL,
        outcome      text NOT NULL CHECK (outcome IN ('APPLIED', 'IGNORED')),
        received_at  timestamptz NOT NULL DEFAULT now()
      );

      ALTER TABLE accounts ADD COLUMN stripe_state_at timestamptz;
      COMMENT ON COLUMN accounts.stripe_state_at IS
        'creation time of the newest Stripe subscription event applied: older events never overwrite newer state';
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE accounts DROP COLUMN stripe_state_at;
      DROP TABLE stripe_events;
      DROP TABLE credit_purchases;
    `);
  }
}
