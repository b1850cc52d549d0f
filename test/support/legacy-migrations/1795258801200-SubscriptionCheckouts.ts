import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One live subscription per account.
 *
 * - subscription_checkouts: the subscription Checkout Sessions opened for an account, so that a second request for
 *   the same plan reuses the open session instead of opening another one.
 * - retired_subscriptions: Stripe subscriptions that no longer (ENDED) or never (DUPLICATE) drive their account's
 *   plan; their events and invoices change nothing. A DUPLICATE is a second live subscription: it is cancelled and
 *   its payment refunded, and settled_at says when that was done.
 * - stripe_events: an event that cannot be applied (it contradicts what is stored) is kept as UNAPPLIED, with why.
 */
export class SubscriptionCheckouts1795258801200 implements MigrationInterface {
  name = 'SubscriptionCheckouts1795258801200';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE subscription_checkouts (
        id                          uuid PRIMARY KEY,
        account_id                  text NOT NULL REFERENCES accounts (id),
        plan_code                   text NOT NULL REFERENCES plans (code),
        status                      text NOT NULL CHECK (status IN ('OPEN', 'COMPLETE', 'EXPIRED')),
        stripe_checkout_session_id  text UNIQUE,
        url                         text,
        expires_at                  timestamptz,
        created_at                  timestamptz NOT NULL,
        closed_at                   timestamptz
      );
      CREATE UNIQUE INDEX subscription_checkouts_open_idx ON subscription_checkouts (account_id, plan_code)
        WHERE status = 'OPEN';

      CREATE TABLE retired_subscriptions (
        id              text PRIMARY KEY,
        account_id      text NOT NULL REFERENCES accounts (id),
        reason          text NOT NULL CHECK (reason IN ('ENDED', 'DUPLICATE')),
        refunded_cents  integer NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
        claimed_until   timestamptz,
        settled_at      timestamptz,
        created_at      timestamptz NOT NULL
      );
      COMMENT ON COLUMN retired_subscriptions.claimed_until IS
        'an instance cancelling and refunding this duplicate: others leave it alone until then';
      CREATE INDEX retired_subscriptions_unsettled_idx ON retired_subscriptions (created_at)
        WHERE reason = 'DUPLICATE' AND settled_at IS NULL;

      ALTER TABLE stripe_events DROP CONSTRAINT stripe_events_outcome_check;
      ALTER TABLE stripe_events ADD CONSTRAINT stripe_events_outcome_check
        CHECK (outcome IN ('APPLIED', 'IGNORED', 'UNAPPLIED'));
      ALTER TABLE stripe_events ADD COLUMN detail text;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE stripe_events DROP COLUMN detail;
      UPDATE stripe_events SET outcome = 'IGNORED' WHERE outcome = 'UNAPPLIED';
      ALTER TABLE stripe_events DROP CONSTRAINT stripe_events_outcome_check;
      ALTER TABLE stripe_events ADD CONSTRAINT stripe_events_outcome_check CHECK (outcome IN ('APPLIED', 'IGNORED'));
      DROP TABLE retired_subscriptions;
      DROP TABLE subscription_checkouts;
    `);
  }
}
