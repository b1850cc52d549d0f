import { MigrationInterface, QueryRunner } from 'typeorm';

/** The last migration of the history this baseline replaces: a database that ran it already has this schema. */
const SUPERSEDED = 'OwedCredits1795258801300';

/**
 * The whole schema: domains, tables with their constraints and comments, indexes, and the catalog the product
 * launches with. Schema only: the database functions and the ledger's triggers live in migrations/functions/ and are
 * applied after the migrations (src/database/database-functions.ts). migrations/schema.snapshot.sql shows the
 * result.
 *
 * Credits live in grants (buckets). Each account has one cached balance row per pool: MESSAGE and INTEGRATION
 * (the period's allowance), WALLET (purchased, promotional and admin credits) and PROJECT (a count quota). Every
 * change to a grant or a balance happens while that pool's balance row is locked, and is recorded as one row of the
 * append-only `credit_transactions` table. Single-column checks of the tables a hold and a capture write are domains
 * (credit_quantity, credit_delta, ...): PostgreSQL keeps a domain's check prepared, where a table CHECK is prepared
 * again by every statement that writes the table.
 */
export class Baseline1795258801400 implements MigrationInterface {
  name = 'Baseline1795258801400';

  async up(queryRunner: QueryRunner): Promise<void> {
    const superseded = await queryRunner.query(`SELECT 1 FROM schema_migrations WHERE name = $1`, [SUPERSEDED]);
    if (superseded.length) return;
    const [older] = await queryRunner.query(`SELECT name FROM schema_migrations ORDER BY id DESC LIMIT 1`);
    if (older) {
      // Built part of the way by the replaced history: there is no production data to carry over.
      throw new Error(
        `This database was built by an earlier migration history (up to ${older.name}) and cannot be taken over. ` +
          'Recreate it (for the embedded PostgreSQL, delete the .data/ folder).',
      );
    }
    await queryRunner.query(`
      CREATE DOMAIN credit_delta AS bigint CONSTRAINT credit_delta_check CHECK ((VALUE <> 0));

      CREATE DOMAIN credit_positive AS bigint CONSTRAINT credit_positive_check CHECK ((VALUE > 0));

      CREATE DOMAIN credit_quantity AS bigint CONSTRAINT credit_quantity_check CHECK ((VALUE >= 0));

      CREATE DOMAIN credit_type AS text CONSTRAINT credit_type_check CHECK ((VALUE = ANY (ARRAY['INTEGRATION'::text, 'MESSAGE'::text, 'PROJECT'::text])));

      CREATE DOMAIN grant_kind AS text CONSTRAINT grant_kind_check CHECK ((VALUE = ANY (ARRAY['ALLOWANCE'::text, 'PURCHASE'::text, 'PROMO'::text, 'ADMIN'::text])));

      CREATE DOMAIN grant_pool AS text CONSTRAINT grant_pool_check CHECK ((VALUE = ANY (ARRAY['INTEGRATION'::text, 'MESSAGE'::text, 'WALLET'::text])));

      CREATE DOMAIN grant_source_key AS text CONSTRAINT grant_source_key_check CHECK (((char_length(VALUE) >= 1) AND (char_length(VALUE) <= 300)));

      CREATE DOMAIN hold_status AS text CONSTRAINT hold_status_check CHECK ((VALUE = ANY (ARRAY['PENDING'::text, 'CAPTURED'::text, 'RELEASED'::text, 'EXPIRED'::text])));

      CREATE DOMAIN idempotency_key AS text CONSTRAINT idempotency_key_check CHECK (((char_length(VALUE) >= 1) AND (char_length(VALUE) <= 255)));

      CREATE DOMAIN ledger_kind AS text CONSTRAINT ledger_kind_check CHECK ((VALUE = ANY (ARRAY['GRANT'::text, 'PURCHASE'::text, 'CONSUME'::text, 'HOLD'::text, 'CAPTURE'::text, 'RELEASE'::text, 'REFUND'::text, 'EXPIRE'::text, 'CLAWBACK'::text, 'ADJUST'::text])));

      CREATE DOMAIN ledger_pool AS text CONSTRAINT ledger_pool_check CHECK ((VALUE = ANY (ARRAY['INTEGRATION'::text, 'MESSAGE'::text, 'PROJECT'::text, 'WALLET'::text])));

      CREATE SEQUENCE allowance_withholdings_id_seq AS bigint;

      CREATE SEQUENCE credit_shortfalls_id_seq AS bigint;

      CREATE TABLE credit_holds (
        id uuid NOT NULL,
        account_id text NOT NULL,
        status hold_status NOT NULL,
        charges jsonb NOT NULL,
        allocations jsonb NOT NULL,
        captured jsonb,
        result jsonb,
        idempotency_key idempotency_key,
        request_hash text,
        description text,
        expires_at timestamp with time zone NOT NULL,
        created_at timestamp with time zone NOT NULL,
        settled_at timestamp with time zone,
        CONSTRAINT credit_holds_pkey PRIMARY KEY (id)
      );

      COMMENT ON COLUMN credit_holds.result IS 'what the guarded operation answered, replayed for a retry with the same key';

      CREATE TABLE credit_packages (
        id text NOT NULL,
        name text NOT NULL,
        credits integer NOT NULL,
        price_cents integer NOT NULL,
        currency text DEFAULT 'usd'::text NOT NULL,
        most_popular boolean DEFAULT false NOT NULL,
        sort_order smallint DEFAULT 0 NOT NULL,
        active boolean DEFAULT true NOT NULL,
        stripe_lookup_key text NOT NULL,
        CONSTRAINT credit_packages_pkey PRIMARY KEY (id),
        CONSTRAINT credit_packages_stripe_lookup_key_key UNIQUE (stripe_lookup_key),
        CONSTRAINT credit_packages_credits_check CHECK ((credits > 0)),
        CONSTRAINT credit_packages_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
        CONSTRAINT credit_packages_id_check CHECK ((id ~ '^[a-z0-9_-]{1,64}$'::text)),
        CONSTRAINT credit_packages_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 100))),
        CONSTRAINT credit_packages_price_cents_check CHECK ((price_cents > 0))
      );

      CREATE TABLE credit_transactions (
        id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
        account_id text NOT NULL,
        kind ledger_kind NOT NULL,
        pool ledger_pool NOT NULL,
        charge_type credit_type,
        grant_id uuid,
        hold_id uuid,
        amount credit_delta NOT NULL,
        balance_after credit_quantity NOT NULL,
        reference text,
        description text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT credit_transactions_pkey PRIMARY KEY (id)
      );

      COMMENT ON COLUMN credit_transactions.balance_after IS 'the pool''s available balance after this row; for PROJECT, the units in use or held after it';

      CREATE TABLE credit_usage (
        id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
        account_id text NOT NULL,
        credit_type credit_type NOT NULL,
        amount credit_positive NOT NULL,
        from_allowance credit_quantity NOT NULL,
        from_wallet credit_quantity NOT NULL,
        remaining_after bigint,
        hold_id uuid,
        idempotency_key idempotency_key,
        request_hash text,
        description text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT credit_usage_pkey PRIMARY KEY (id)
      );

      COMMENT ON COLUMN credit_usage.amount IS 'units used';

      COMMENT ON COLUMN credit_usage.from_allowance IS 'units paid by the period''s allowance';

      COMMENT ON COLUMN credit_usage.from_wallet IS 'wallet credits paid for the rest';

      CREATE TABLE payment_reversals (
        payment_intent_id text NOT NULL,
        refunded_cents bigint NOT NULL,
        total_cents bigint NOT NULL,
        created_at timestamp with time zone NOT NULL,
        CONSTRAINT payment_reversals_payment_intent_id_check CHECK (((char_length(payment_intent_id) >= 1) AND (char_length(payment_intent_id) <= 255))),
        CONSTRAINT payment_reversals_pkey PRIMARY KEY (payment_intent_id),
        CONSTRAINT payment_reversals_refunded_cents_check CHECK ((refunded_cents >= 0)),
        CONSTRAINT payment_reversals_total_cents_check CHECK ((total_cents >= 0))
      );

      COMMENT ON TABLE payment_reversals IS 'refunds and disputes of payments no purchase was known for yet: the purchase they belong to is credited less';

      CREATE TABLE plans (
        code text NOT NULL,
        name text NOT NULL,
        rank smallint NOT NULL,
        price_cents integer NOT NULL,
        currency text DEFAULT 'usd'::text NOT NULL,
        message_limit integer NOT NULL,
        integration_limit integer NOT NULL,
        project_limit integer,
        stripe_lookup_key text NOT NULL,
        updated_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT plans_pkey PRIMARY KEY (code),
        CONSTRAINT plans_rank_key UNIQUE (rank),
        CONSTRAINT plans_stripe_lookup_key_key UNIQUE (stripe_lookup_key),
        CONSTRAINT plans_code_check CHECK ((code = ANY (ARRAY['FREE'::text, 'STARTER'::text, 'BUILDER'::text, 'PRO'::text, 'ELITE'::text]))),
        CONSTRAINT plans_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
        CONSTRAINT plans_integration_limit_check CHECK ((integration_limit >= 0)),
        CONSTRAINT plans_message_limit_check CHECK ((message_limit >= 0)),
        CONSTRAINT plans_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 100))),
        CONSTRAINT plans_price_cents_check CHECK ((price_cents >= 0)),
        CONSTRAINT plans_project_limit_check CHECK ((project_limit >= 0))
      );

      COMMENT ON COLUMN plans.project_limit IS 'null means unlimited';

      CREATE TABLE accounts (
        id text NOT NULL,
        plan_code text NOT NULL,
        status text DEFAULT 'ACTIVE'::text NOT NULL,
        period_anchor timestamp with time zone NOT NULL,
        current_period_start timestamp with time zone NOT NULL,
        current_period_end timestamp with time zone NOT NULL,
        cancel_at_period_end boolean DEFAULT false NOT NULL,
        pending_plan_code text,
        stripe_customer_id text,
        stripe_subscription_id text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        updated_at timestamp with time zone DEFAULT now() NOT NULL,
        stripe_state_at timestamp with time zone,
        subscription_plan_code text,
        past_due_since timestamp with time zone,
        CONSTRAINT accounts_pkey PRIMARY KEY (id),
        CONSTRAINT accounts_stripe_customer_id_key UNIQUE (stripe_customer_id),
        CONSTRAINT accounts_stripe_subscription_id_key UNIQUE (stripe_subscription_id),
        CONSTRAINT accounts_check CHECK ((current_period_end > current_period_start)),
        CONSTRAINT accounts_id_check CHECK (((char_length(id) >= 1) AND (char_length(id) <= 128))),
        CONSTRAINT accounts_status_check CHECK ((status = ANY (ARRAY['ACTIVE'::text, 'TRIALING'::text, 'PAST_DUE'::text, 'CANCELED'::text, 'INCOMPLETE'::text]))),
        CONSTRAINT accounts_pending_plan_code_fkey FOREIGN KEY (pending_plan_code) REFERENCES plans(code),
        CONSTRAINT accounts_plan_code_fkey FOREIGN KEY (plan_code) REFERENCES plans(code),
        CONSTRAINT accounts_subscription_plan_code_fkey FOREIGN KEY (subscription_plan_code) REFERENCES plans(code)
      );

      COMMENT ON COLUMN accounts.period_anchor IS 'monthly periods start on this day of the month and time, clamped to the month end';

      COMMENT ON COLUMN accounts.stripe_state_at IS 'creation time of the newest Stripe subscription event applied: older events never overwrite newer state';

      COMMENT ON COLUMN accounts.subscription_plan_code IS 'the plan of the Stripe subscription; plan_code is the plan whose limits apply now (FREE while it is unpaid)';

      COMMENT ON COLUMN accounts.past_due_since IS 'when the subscription became past due; the grace counts from here';

      CREATE TABLE allowance_withholdings (
        id bigint DEFAULT nextval('allowance_withholdings_id_seq'::regclass) NOT NULL,
        account_id text NOT NULL,
        pool grant_pool NOT NULL,
        period_start timestamp with time zone NOT NULL,
        amount bigint NOT NULL,
        created_at timestamp with time zone NOT NULL,
        CONSTRAINT allowance_withholdings_pkey PRIMARY KEY (id),
        CONSTRAINT allowance_withholdings_amount_check CHECK ((amount > 0)),
        CONSTRAINT allowance_withholdings_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      );

      COMMENT ON TABLE allowance_withholdings IS 'allowance taken back mid-period because the plan it was granted for is no longer paid; a period''s allowance is its grants minus these';

      CREATE TABLE credit_balances (
        account_id text NOT NULL,
        pool ledger_pool NOT NULL,
        balance credit_quantity DEFAULT 0 NOT NULL,
        held credit_quantity DEFAULT 0 NOT NULL,
        updated_at timestamp with time zone DEFAULT now() NOT NULL,
        owed credit_quantity DEFAULT 0 NOT NULL,
        CONSTRAINT credit_balances_pkey PRIMARY KEY (account_id, pool),
        CONSTRAINT credit_balances_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      );

      COMMENT ON COLUMN credit_balances.balance IS 'credits available to spend (sum of the pool''s grants); for PROJECT, the units in use';

      COMMENT ON COLUMN credit_balances.held IS 'credits (PROJECT: units) reserved by pending holds';

      COMMENT ON COLUMN credit_balances.owed IS 'credits this pool owes back (a refund or an allowance cut that met them held); credits coming back pay it first';

      CREATE TABLE credit_grants (
        id uuid DEFAULT gen_random_uuid() NOT NULL,
        account_id text NOT NULL,
        pool grant_pool NOT NULL,
        kind grant_kind NOT NULL,
        amount credit_positive NOT NULL,
        remaining bigint NOT NULL,
        priority integer DEFAULT 0 NOT NULL,
        expires_at timestamp with time zone,
        period_start timestamp with time zone,
        source_key grant_source_key NOT NULL,
        origin_transaction_id bigint NOT NULL,
        description text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT credit_grants_pkey PRIMARY KEY (id),
        CONSTRAINT credit_grants_source_key_key UNIQUE (source_key),
        CONSTRAINT credit_grants_check1 CHECK ((((pool)::text = 'WALLET'::text) = ((kind)::text <> 'ALLOWANCE'::text))),
        CONSTRAINT credit_grants_remaining_check CHECK (((remaining >= 0) AND (remaining <= (amount)::bigint))),
        CONSTRAINT credit_grants_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      ) WITH (fillfactor=80);

      CREATE TABLE credit_purchases (
        id uuid NOT NULL,
        account_id text NOT NULL,
        package_id text NOT NULL,
        credits integer NOT NULL,
        amount_cents integer NOT NULL,
        currency text NOT NULL,
        status text NOT NULL,
        stripe_checkout_session_id text,
        stripe_payment_intent_id text,
        grant_id uuid,
        credits_clawed_back integer DEFAULT 0 NOT NULL,
        created_at timestamp with time zone NOT NULL,
        completed_at timestamp with time zone,
        refunded_at timestamp with time zone,
        CONSTRAINT credit_purchases_pkey PRIMARY KEY (id),
        CONSTRAINT credit_purchases_stripe_checkout_session_id_key UNIQUE (stripe_checkout_session_id),
        CONSTRAINT credit_purchases_stripe_payment_intent_id_key UNIQUE (stripe_payment_intent_id),
        CONSTRAINT credit_purchases_amount_cents_check CHECK ((amount_cents >= 0)),
        CONSTRAINT credit_purchases_check CHECK (((credits_clawed_back >= 0) AND (credits_clawed_back <= credits))),
        CONSTRAINT credit_purchases_credits_check CHECK ((credits > 0)),
        CONSTRAINT credit_purchases_status_check CHECK ((status = ANY (ARRAY['PENDING'::text, 'COMPLETED'::text, 'REFUNDED'::text, 'FAILED'::text]))),
        CONSTRAINT credit_purchases_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
        CONSTRAINT credit_purchases_grant_id_fkey FOREIGN KEY (grant_id) REFERENCES credit_grants(id),
        CONSTRAINT credit_purchases_package_id_fkey FOREIGN KEY (package_id) REFERENCES credit_packages(id)
      );

      CREATE TABLE credit_shortfalls (
        id bigint DEFAULT nextval('credit_shortfalls_id_seq'::regclass) NOT NULL,
        account_id text NOT NULL,
        pool ledger_pool NOT NULL,
        charge_type credit_type,
        amount credit_positive NOT NULL,
        reason text NOT NULL,
        reference text,
        description text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT credit_shortfalls_pkey PRIMARY KEY (id),
        CONSTRAINT credit_shortfalls_reason_check CHECK ((reason = ANY (ARRAY['CLAWBACK'::text, 'LATE_CAPTURE'::text]))),
        CONSTRAINT credit_shortfalls_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      );

      COMMENT ON TABLE credit_shortfalls IS 'credits owed to the service that the ledger could not take: a refund after they were spent, a capture after its hold was swept';

      CREATE TABLE projects (
        id uuid DEFAULT gen_random_uuid() NOT NULL,
        account_id text NOT NULL,
        name text NOT NULL,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT projects_pkey PRIMARY KEY (id),
        CONSTRAINT projects_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 100))),
        CONSTRAINT projects_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      );

      CREATE TABLE chat_messages (
        id uuid DEFAULT gen_random_uuid() NOT NULL,
        project_id uuid NOT NULL,
        account_id text NOT NULL,
        text text NOT NULL,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT chat_messages_pkey PRIMARY KEY (id),
        CONSTRAINT chat_messages_text_check CHECK (((char_length(text) >= 1) AND (char_length(text) <= 4000))),
        CONSTRAINT chat_messages_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE
      );

      CREATE TABLE integration_runs (
        id uuid DEFAULT gen_random_uuid() NOT NULL,
        project_id uuid NOT NULL,
        account_id text NOT NULL,
        calls integer NOT NULL,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        CONSTRAINT integration_runs_pkey PRIMARY KEY (id),
        CONSTRAINT integration_runs_calls_check CHECK (((calls >= 1) AND (calls <= 1000))),
        CONSTRAINT integration_runs_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE
      );

      CREATE TABLE retired_subscriptions (
        id text NOT NULL,
        account_id text NOT NULL,
        reason text NOT NULL,
        refunded_cents integer DEFAULT 0 NOT NULL,
        claimed_until timestamp with time zone,
        settled_at timestamp with time zone,
        created_at timestamp with time zone NOT NULL,
        CONSTRAINT retired_subscriptions_pkey PRIMARY KEY (id),
        CONSTRAINT retired_subscriptions_reason_check CHECK ((reason = ANY (ARRAY['ENDED'::text, 'DUPLICATE'::text]))),
        CONSTRAINT retired_subscriptions_refunded_cents_check CHECK ((refunded_cents >= 0)),
        CONSTRAINT retired_subscriptions_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      );

      COMMENT ON COLUMN retired_subscriptions.claimed_until IS 'an instance cancelling and refunding this duplicate: others leave it alone until then';

      CREATE TABLE stripe_events (
        id text NOT NULL,
        type text NOT NULL,
        created_at timestamp with time zone NOT NULL,
        outcome text NOT NULL,
        received_at timestamp with time zone DEFAULT now() NOT NULL,
        detail text,
        CONSTRAINT stripe_events_pkey PRIMARY KEY (id),
        CONSTRAINT stripe_events_outcome_check CHECK ((outcome = ANY (ARRAY['APPLIED'::text, 'IGNORED'::text, 'UNAPPLIED'::text])))
      );

      CREATE TABLE subscription_checkouts (
        id uuid NOT NULL,
        account_id text NOT NULL,
        plan_code text NOT NULL,
        status text NOT NULL,
        stripe_checkout_session_id text,
        url text,
        expires_at timestamp with time zone,
        created_at timestamp with time zone NOT NULL,
        closed_at timestamp with time zone,
        CONSTRAINT subscription_checkouts_pkey PRIMARY KEY (id),
        CONSTRAINT subscription_checkouts_stripe_checkout_session_id_key UNIQUE (stripe_checkout_session_id),
        CONSTRAINT subscription_checkouts_status_check CHECK ((status = ANY (ARRAY['OPEN'::text, 'COMPLETE'::text, 'EXPIRED'::text]))),
        CONSTRAINT subscription_checkouts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
        CONSTRAINT subscription_checkouts_plan_code_fkey FOREIGN KEY (plan_code) REFERENCES plans(code)
      );

      CREATE TABLE usage_alerts (
        id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
        account_id text NOT NULL,
        credit_type credit_type NOT NULL,
        period_start timestamp with time zone NOT NULL,
        threshold smallint NOT NULL,
        used bigint NOT NULL,
        credit_limit bigint NOT NULL,
        created_at timestamp with time zone NOT NULL,
        CONSTRAINT usage_alerts_pkey PRIMARY KEY (id),
        CONSTRAINT usage_alerts_account_id_credit_type_period_start_threshold_key UNIQUE (account_id, credit_type, period_start, threshold),
        CONSTRAINT usage_alerts_threshold_check CHECK ((threshold = ANY (ARRAY[80, 100]))),
        CONSTRAINT usage_alerts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id)
      );

      ALTER SEQUENCE allowance_withholdings_id_seq OWNED BY allowance_withholdings.id;

      ALTER SEQUENCE credit_shortfalls_id_seq OWNED BY credit_shortfalls.id;

      CREATE INDEX accounts_past_due_idx ON public.accounts USING btree (past_due_since) WHERE (past_due_since IS NOT NULL);

      CREATE INDEX accounts_period_end_idx ON public.accounts USING btree (current_period_end);

      CREATE INDEX allowance_withholdings_period_idx ON public.allowance_withholdings USING btree (account_id, pool, period_start);

      CREATE INDEX chat_messages_project_idx ON public.chat_messages USING btree (project_id, created_at);

      CREATE INDEX credit_grants_account_idx ON public.credit_grants USING btree (account_id, pool, period_start);

      CREATE UNIQUE INDEX credit_holds_idempotency_idx ON public.credit_holds USING btree (account_id, idempotency_key) WHERE (((status)::text = ANY (ARRAY['PENDING'::text, 'CAPTURED'::text])) AND (idempotency_key IS NOT NULL));

      CREATE INDEX credit_holds_pending_idx ON public.credit_holds USING btree (expires_at) WHERE ((status)::text = 'PENDING'::text);

      CREATE INDEX credit_purchases_account_idx ON public.credit_purchases USING btree (account_id, created_at DESC, id DESC);

      CREATE INDEX credit_shortfalls_account_idx ON public.credit_shortfalls USING btree (account_id, created_at);

      CREATE INDEX credit_transactions_account_idx ON public.credit_transactions USING btree (account_id, id DESC);

      CREATE INDEX credit_usage_account_idx ON public.credit_usage USING btree (account_id, id DESC);

      CREATE UNIQUE INDEX credit_usage_idempotency_idx ON public.credit_usage USING btree (account_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

      CREATE INDEX integration_runs_project_idx ON public.integration_runs USING btree (project_id, created_at);

      CREATE INDEX projects_account_idx ON public.projects USING btree (account_id, created_at);

      CREATE INDEX retired_subscriptions_unsettled_idx ON public.retired_subscriptions USING btree (created_at) WHERE ((reason = 'DUPLICATE'::text) AND (settled_at IS NULL));

      CREATE UNIQUE INDEX subscription_checkouts_open_idx ON public.subscription_checkouts USING btree (account_id, plan_code) WHERE (status = 'OPEN'::text);
    `);
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
    await queryRunner.query(`
      DROP TABLE usage_alerts, subscription_checkouts, stripe_events, retired_subscriptions, integration_runs,
        chat_messages, projects, credit_shortfalls, credit_purchases, credit_grants, credit_balances,
        allowance_withholdings, accounts, plans, payment_reversals, credit_usage, credit_transactions,
        credit_packages, credit_holds CASCADE;
      DROP DOMAIN credit_delta, credit_positive, credit_quantity, credit_type, grant_kind, grant_pool, grant_source_key, hold_status, idempotency_key, ledger_kind, ledger_pool;
    `);
  }
}
