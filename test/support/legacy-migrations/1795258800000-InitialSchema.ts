import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The catalog, accounts and the credit ledger.
 *
 * Credits live in grants (buckets). Each account has one cached balance row per pool: MESSAGE and INTEGRATION
 * (the period's allowance), WALLET (purchased, promotional and admin credits) and PROJECT (a count quota). Every
 * change to a grant or a balance happens while that pool's balance row is locked, and is recorded as one row of the
 * append-only `credit_transactions` table.
 */
export class InitialSchema1795258800000 implements MigrationInterface {
  name = 'InitialSchema1795258800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE plans (
        code               text PRIMARY KEY CHECK (code IN ('FREE', 'STARTER', 'BUILDER', 'PRO', 'ELITE')),
        name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        rank               smallint NOT NULL UNIQUE,
        price_cents        integer NOT NULL CHECK (price_cents >= 0),
        currency           text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
        message_limit      integer NOT NULL CHECK (message_limit >= 0),
        integration_limit  integer NOT NULL CHECK (integration_limit >= 0),
        project_limit      integer CHECK (project_limit >= 0),
        stripe_lookup_key  text NOT NULL UNIQUE,
        updated_at         timestamptz NOT NULL DEFAULT now()
      );
      COMMENT ON COLUMN plans.project_limit IS 'null means unlimited';

      CREATE TABLE credit_packages (
        id                 text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,64}$'),
        name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        credits            integer NOT NULL CHECK (credits > 0),
        price_cents        integer NOT NULL CHECK (price_cents > 0),
        currency           text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
        most_popular       boolean NOT NULL DEFAULT false,
        sort_order         smallint NOT NULL DEFAULT 0,
        active             boolean NOT NULL DEFAULT true,
        stripe_lookup_key  text NOT NULL UNIQUE
      );

      CREATE TABLE accounts (
        id                      text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 128),
        plan_code               text NOT NULL REFERENCES plans (code),
        status                  text NOT NULL DEFAULT 'ACTIVE'
                                CHECK (status IN ('ACTIVE', 'TRIALING', 'PAST_DUE', 'CANCELED', 'INCOMPLETE')),
        period_anchor           timestamptz NOT NULL,
        current_period_start    timestamptz NOT NULL,
        current_period_end      timestamptz NOT NULL,
        cancel_at_period_end    boolean NOT NULL DEFAULT false,
        pending_plan_code       text REFERENCES plans (code),
        stripe_customer_id      text UNIQUE,
        stripe_subscription_id  text UNIQUE,
        created_at              timestamptz NOT NULL DEFAULT now(),
        updated_at              timestamptz NOT NULL DEFAULT now(),
        CHECK (current_period_end > current_period_start)
      );
      COMMENT ON COLUMN accounts.period_anchor IS 'monthly periods start on this day of the month and time, clamped to the month end';
      CREATE INDEX accounts_period_end_idx ON accounts (current_period_end);

      CREATE TABLE credit_balances (
        account_id  text NOT NULL REFERENCES accounts (id),
        pool        text NOT NULL CHECK (pool IN ('INTEGRATION', 'MESSAGE', 'PROJECT', 'WALLET')),
        balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
        held        bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, pool)
      );
      COMMENT ON COLUMN credit_balances.balance IS
        'credits available to spend (sum of the pool''s grants); for PROJECT, the units in use';
      COMMENT ON COLUMN credit_balances.held IS 'credits (PROJECT: units) reserved by pending holds';

      CREATE TABLE credit_grants (
        id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id             text NOT NULL REFERENCES accounts (id),
        pool                   text NOT NULL CHECK (pool IN ('INTEGRATION', 'MESSAGE', 'WALLET')),
        kind                   text NOT NULL CHECK (kind IN ('ALLOWANCE', 'PURCHASE', 'PROMO', 'ADMIN')),
        amount                 bigint NOT NULL CHECK (amount > 0),
        remaining              bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
        priority               integer NOT NULL DEFAULT 0,
        expires_at             timestamptz,
        period_start           timestamptz,
        source_key             text NOT NULL UNIQUE CHECK (char_length(source_key) BETWEEN 1 AND 300),
        origin_transaction_id  bigint NOT NULL,
        description            text,
        created_at             timestamptz NOT NULL DEFAULT now(),
        CHECK ((pool = 'WALLET') = (kind <> 'ALLOWANCE'))
      );
      CREATE INDEX credit_grants_spendable_idx ON credit_grants (account_id, pool) WHERE remaining > 0;
      CREATE INDEX credit_grants_account_idx ON credit_grants (account_id, pool, period_start);

      CREATE TABLE credit_holds (
        id               uuid PRIMARY KEY,
        account_id       text NOT NULL REFERENCES accounts (id),
        status           text NOT NULL CHECK (status IN ('PENDING', 'CAPTURED', 'RELEASED', 'EXPIRED')),
        charges          jsonb NOT NULL,
        allocations      jsonb NOT NULL,
        captured         jsonb,
        result           jsonb,
        idempotency_key  text CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
        request_hash     text,
        description      text,
        expires_at       timestamptz NOT NULL,
        created_at       timestamptz NOT NULL,
        settled_at       timestamptz
      );
      COMMENT ON COLUMN credit_holds.result IS 'what the guarded operation answered, replayed for a retry with the same key';
      -- A key stays taken while its hold is pending or captured; after a release or expiry a retry may try again.
      CREATE UNIQUE INDEX credit_holds_idempotency_idx ON credit_holds (account_id, idempotency_key)
        WHERE status IN ('PENDING', 'CAPTURED');
      CREATE INDEX credit_holds_pending_idx ON credit_holds (expires_at) WHERE status = 'PENDING';

      -- Append-only. No foreign keys: this is the hottest insert path, and reconciliation checks every row
      -- against the grants and balances it moved.
      CREATE TABLE credit_transactions (
        id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id     text NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('GRANT', 'PURCHASE', 'CONSUME', 'HOLD', 'CAPTURE', 'RELEASE',
                                                     'REFUND', 'EXPIRE', 'CLAWBACK', 'ADJUST')),
        pool           text NOT NULL CHECK (pool IN ('INTEGRATION', 'MESSAGE', 'PROJECT', 'WALLET')),
        charge_type    text CHECK (charge_type IN ('INTEGRATION', 'MESSAGE', 'PROJECT')),
        grant_id       uuid,
        hold_id        uuid,
        amount         bigint NOT NULL CHECK (amount <> 0),
        balance_after  bigint NOT NULL CHECK (balance_after >= 0),
        reference      text,
        description    text,
        created_at     timestamptz NOT NULL DEFAULT now()
      );
      COMMENT ON COLUMN credit_transactions.balance_after IS
        'the pool''s available balance after this row; for PROJECT, the units in use or held after it';
      CREATE INDEX credit_transactions_account_idx ON credit_transactions (account_id, id DESC);

      CREATE FUNCTION credit_transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'credit_transactions is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $$;
      CREATE TRIGGER credit_transactions_append_only
        BEFORE UPDATE OR DELETE ON credit_transactions
        FOR EACH ROW EXECUTE FUNCTION credit_transactions_append_only();
      CREATE TRIGGER credit_transactions_no_truncate
        BEFORE TRUNCATE ON credit_transactions
        FOR EACH STATEMENT EXECUTE FUNCTION credit_transactions_append_only();

      CREATE TABLE credit_usage (
        id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id       text NOT NULL,
        credit_type      text NOT NULL CHECK (credit_type IN ('INTEGRATION', 'MESSAGE', 'PROJECT')),
        amount           bigint NOT NULL CHECK (amount > 0),
        from_allowance   bigint NOT NULL CHECK (from_allowance >= 0),
        from_wallet      bigint NOT NULL CHECK (from_wallet >= 0),
        remaining_after  bigint,
        hold_id          uuid,
        idempotency_key  text CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
        request_hash     text,
        description      text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (account_id, idempotency_key)
      );
      COMMENT ON COLUMN credit_usage.amount IS 'units used';
      COMMENT ON COLUMN credit_usage.from_allowance IS 'units paid by the period''s allowance';
      COMMENT ON COLUMN credit_usage.from_wallet IS 'wallet credits paid for the rest';
      CREATE INDEX credit_usage_account_idx ON credit_usage (account_id, id DESC);

      -- The first charge that takes a type to 80 % or 100 % of its limit in a period records it, once.
      CREATE TABLE usage_alerts (
        id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id    text NOT NULL REFERENCES accounts (id),
        credit_type   text NOT NULL CHECK (credit_type IN ('INTEGRATION', 'MESSAGE', 'PROJECT')),
        period_start  timestamptz NOT NULL,
        threshold     smallint NOT NULL CHECK (threshold IN (80, 100)),
        used          bigint NOT NULL,
        credit_limit  bigint NOT NULL,
        created_at    timestamptz NOT NULL,
        UNIQUE (account_id, credit_type, period_start, threshold)
      );
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE usage_alerts;
      DROP TABLE credit_usage;
      DROP TABLE credit_transactions;
      DROP FUNCTION credit_transactions_append_only();
      DROP TABLE credit_holds;
      DROP TABLE credit_grants;
      DROP TABLE credit_balances;
      DROP TABLE accounts;
      DROP TABLE credit_packages;
      DROP TABLE plans;
    `);
  }
}
