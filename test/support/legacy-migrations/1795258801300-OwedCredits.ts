import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Credits owed back are collected when they come back.
 *
 * A refund (or dispute) that finds the refunded credits held by a pending request, and a mid-period cut of the
 * allowance (a subscription past its grace) that finds the allowance held, cannot take what is held. The pool now
 * records what it owes (`credit_balances.owed`): credits that come back to it (a released hold, the unused part of a
 * capture) and, for the wallet, newly granted credits pay that first. Only what is neither left nor held is a
 * shortfall. A new period starts with nothing owed on its allowance.
 *
 * A refund or dispute that arrives before the purchase it reverses is known to be paid (Stripe does not order its
 * events) is kept in `payment_reversals`, and the purchase is credited only what was not reversed.
 */
export class OwedCredits1795258801300 implements MigrationInterface {
  name = 'OwedCredits1795258801300';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE credit_balances ADD COLUMN owed credit_quantity NOT NULL DEFAULT 0;
      COMMENT ON COLUMN credit_balances.owed IS
        'credits this pool owes back (a refund or an allowance cut that met them held); credits coming back pay it first';

      CREATE TABLE payment_reversals (
        payment_intent_id  text PRIMARY KEY CHECK (char_length(payment_intent_id) BETWEEN 1 AND 255),
        refunded_cents     bigint NOT NULL CHECK (refunded_cents >= 0),
        total_cents        bigint NOT NULL CHECK (total_cents >= 0),
        created_at         timestamptz NOT NULL
      );
      COMMENT ON TABLE payment_reversals IS
        'refunds and disputes of payments no purchase was known for yet: the purchase they belong to is credited less';
    `);
    await queryRunner.query(`
-- Takes what a (locked) pool owes out of what it has: the wallet's by CLAWBACK rows, an allowance's by ADJUST rows
-- recorded as withheld from the grant's period. Returns the amount collected.
CREATE FUNCTION credits_collect_owed(p_account text, p_pool text, p_now timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_owed bigint;
  v_grant record;
  v_take bigint;
  v_collected bigint := 0;
BEGIN
  SELECT owed INTO v_owed FROM credit_balances WHERE account_id = p_account AND pool = p_pool;
  IF coalesce(v_owed, 0) = 0 THEN RETURN 0; END IF;
  FOR v_grant IN
    SELECT id, remaining, period_start FROM credit_grants
     WHERE account_id = p_account AND pool = p_pool AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now)
     ORDER BY priority DESC, expires_at NULLS LAST, created_at, id
  LOOP
    EXIT WHEN v_collected = v_owed;
    v_take := least(v_owed - v_collected, v_grant.remaining);
    IF p_pool = 'WALLET' THEN
      PERFORM credits_post(p_account, 'CLAWBACK', p_pool, NULL, v_grant.id, NULL, -v_take, 0, NULL,
                           'refunded credits that were held', p_now);
    ELSE
      PERFORM credits_post(p_account, 'ADJUST', p_pool, NULL, v_grant.id, NULL, -v_take, 0, NULL,
                           'allowance above the plan''s limit that was held', p_now);
      INSERT INTO allowance_withholdings (account_id, pool, period_start, amount, created_at)
      VALUES (p_account, p_pool, v_grant.period_start, v_take, p_now);
    END IF;
    v_collected := v_collected + v_take;
  END LOOP;
  IF v_collected > 0 THEN
    UPDATE credit_balances SET owed = owed - v_collected WHERE account_id = p_account AND pool = p_pool;
  END IF;
  RETURN v_collected;
END $$;

-- Gives a held allocation back. Credits whose grant expired meanwhile come back and expire at once, so the ledger
-- shows where they went; what the pool owes is paid out of what came back.
CREATE OR REPLACE FUNCTION credits_return_allocation(
  p_account text, p_allocation jsonb, p_hold uuid, p_units bigint, p_description text, p_now timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_pool text := p_allocation->>'pool';
  v_grant uuid := (p_allocation->>'grant')::uuid;
  v_expired boolean;
BEGIN
  IF p_units <= 0 THEN RETURN; END IF;
  PERFORM credits_post(p_account, 'RELEASE', v_pool, p_allocation->>'type', v_grant, p_hold, p_units, -p_units,
                       NULL, p_description, p_now);
  IF v_grant IS NOT NULL THEN
    SELECT expires_at <= p_now INTO v_expired FROM credit_grants WHERE id = v_grant;
    IF v_expired THEN
      PERFORM credits_post(p_account, 'EXPIRE', v_pool, NULL, v_grant, NULL, -p_units, 0, NULL,
                           'expired while held', p_now);
    ELSE
      PERFORM credits_collect_owed(p_account, v_pool, p_now);
    END IF;
  END IF;
END $$;

-- Takes up to p_max credits back from the wallet (a refunded or disputed purchase): first from the purchase's own
-- grant p_grant, then from the other wallet grants in spending order, never below zero. Credits are fungible, so
-- a purchase spent first does not shield one bought later. What is held by pending requests is owed: it is taken
-- when it comes back (see credits_collect_owed). Only what is neither left nor held is recorded in
-- credit_shortfalls. Returns {taken, owed, shortfall}.
CREATE OR REPLACE FUNCTION credits_claw_back(
  p_account text, p_grant uuid, p_max bigint, p_reference text, p_description text, p_now timestamptz
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_need bigint := p_max;
  v_grant record;
  v_take bigint;
  v_owe bigint;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY['WALLET']);
  FOR v_grant IN
    SELECT id, remaining FROM credit_grants
     WHERE account_id = p_account AND pool = 'WALLET' AND remaining > 0
     ORDER BY id IS DISTINCT FROM p_grant, priority DESC, expires_at NULLS LAST, created_at, id
  LOOP
    EXIT WHEN v_need = 0;
    v_take := least(v_need, v_grant.remaining);
    PERFORM credits_post(p_account, 'CLAWBACK', 'WALLET', NULL, v_grant.id, NULL, -v_take, 0, p_reference,
                         p_description, p_now);
    v_need := v_need - v_take;
  END LOOP;
  SELECT least(v_need, greatest(held - owed, 0)) INTO v_owe FROM credit_balances
   WHERE account_id = p_account AND pool = 'WALLET';
  v_owe := coalesce(v_owe, 0);
  IF v_owe > 0 THEN
    UPDATE credit_balances SET owed = owed + v_owe WHERE account_id = p_account AND pool = 'WALLET';
  END IF;
  IF v_need - v_owe > 0 THEN
    INSERT INTO credit_shortfalls (account_id, pool, amount, reason, reference, description, created_at)
    VALUES (p_account, 'WALLET', v_need - v_owe, 'CLAWBACK', p_reference, p_description, p_now);
  END IF;
  RETURN jsonb_build_object('taken', p_max - v_need, 'owed', v_owe, 'shortfall', v_need - v_owe);
END $$;

-- Moves one pool's allowance of a period to p_target credits, what was used so far still counting. A raise is a new
-- ALLOWANCE grant of the difference (its source key is p_source_key and the period's grant count, so each raise is
-- made once); a cut takes back what is left above the target, never below zero, as ADJUST rows, and records what it
-- took; what is above the target but held by pending requests is owed, taken when it comes back. Returns the
-- period's allowance afterwards (above the target when more than the target is used already).
-- The caller holds the account lock; the pool row is locked here, in the ledger's order.
CREATE OR REPLACE FUNCTION credits_set_period_allowance(
  p_account text, p_pool text, p_period_start timestamptz, p_period_end timestamptz, p_target bigint,
  p_priority integer, p_source_key text, p_description text, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_granted bigint;
  v_grants integer;
  v_withheld bigint;
  v_allowance bigint;
  v_grant record;
  v_taken bigint := 0;
  v_owe bigint;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY[p_pool]);
  SELECT coalesce(sum(amount), 0), count(*) INTO v_granted, v_grants FROM credit_grants
   WHERE account_id = p_account AND pool = p_pool AND kind = 'ALLOWANCE' AND period_start = p_period_start;
  SELECT coalesce(sum(amount), 0) INTO v_withheld FROM allowance_withholdings
   WHERE account_id = p_account AND pool = p_pool AND period_start = p_period_start;
  v_allowance := v_granted - v_withheld;

  IF p_target > v_allowance THEN
    PERFORM credits_grant(p_account, p_pool, 'ALLOWANCE', 'GRANT', p_target - v_allowance, p_priority, p_period_end,
                          p_period_start, p_source_key || ':' || v_grants, p_description, NULL, p_now);
    RETURN p_target;
  END IF;

  FOR v_grant IN
    SELECT id FROM credit_grants
     WHERE account_id = p_account AND pool = p_pool AND kind = 'ALLOWANCE' AND period_start = p_period_start
       AND remaining > 0
     ORDER BY created_at DESC, id
  LOOP
    EXIT WHEN v_allowance - v_taken <= p_target;
    v_taken := v_taken + credits_debit_grant(v_grant.id, 'ADJUST', v_allowance - v_taken - p_target, NULL,
                                             p_description, p_now);
  END LOOP;
  IF v_taken > 0 THEN
    INSERT INTO allowance_withholdings (account_id, pool, period_start, amount, created_at)
    VALUES (p_account, p_pool, p_period_start, v_taken, p_now);
  END IF;
  IF v_allowance - v_taken > p_target THEN
    SELECT least(v_allowance - v_taken - p_target, greatest(held - owed, 0)) INTO v_owe FROM credit_balances
     WHERE account_id = p_account AND pool = p_pool;
    IF v_owe > 0 THEN
      UPDATE credit_balances SET owed = owed + v_owe WHERE account_id = p_account AND pool = p_pool;
    END IF;
  END IF;
  RETURN v_allowance - v_taken;
END $$;

-- Starting the period that begins at p_period_start: what is left of any other period's allowance expires, and
-- nothing is owed on the new one.
CREATE OR REPLACE FUNCTION credits_expire_allowance(p_account text, p_period_start timestamptz, p_now timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_grant record;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY['INTEGRATION', 'MESSAGE']);
  FOR v_grant IN
    SELECT id FROM credit_grants
     WHERE account_id = p_account AND kind = 'ALLOWANCE' AND remaining > 0 AND period_start <> p_period_start
     ORDER BY pool, id
  LOOP
    PERFORM credits_debit_grant(v_grant.id, 'EXPIRE', NULL, NULL, 'allowance of the ended period expired', p_now);
  END LOOP;
  UPDATE credit_balances SET owed = 0
   WHERE account_id = p_account AND pool IN ('INTEGRATION', 'MESSAGE') AND owed > 0;
END $$;

CREATE OR REPLACE FUNCTION credits_grant(
  p_account text, p_pool text, p_kind text, p_ledger_kind text, p_amount bigint, p_priority integer,
  p_expires_at timestamptz, p_period_start timestamptz, p_source_key text, p_description text, p_reference text,
  p_now timestamptz
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  c_int_max constant bigint := 2147483647;
  v_transaction bigint;
  v_grant uuid;
  v_existing record;
  v_wallet bigint;
  v_max bigint;
BEGIN
  SELECT id, account_id, pool, amount, origin_transaction_id INTO v_existing
    FROM credit_grants WHERE source_key = p_source_key;
  IF FOUND THEN
    RETURN jsonb_build_object('created', false, 'grantId', v_existing.id,
                              'transactionId', v_existing.origin_transaction_id, 'accountId', v_existing.account_id,
                              'pool', v_existing.pool, 'amount', v_existing.amount);
  END IF;

  PERFORM credits_lock_pools(p_account, ARRAY[p_pool]);
  IF p_pool = 'WALLET' THEN
    SELECT balance + held INTO v_wallet FROM credit_balances WHERE account_id = p_account AND pool = 'WALLET';
    SELECT c_int_max - coalesce(max(greatest(message_limit, integration_limit)), 0) INTO v_max FROM plans;
    IF coalesce(v_wallet, 0) + p_amount > v_max THEN
      RETURN jsonb_build_object('created', false, 'refused', 'BALANCE_LIMIT', 'balance', coalesce(v_wallet, 0),
                                'maxBalance', v_max);
    END IF;
  END IF;

  v_transaction := nextval(pg_get_serial_sequence('credit_transactions', 'id'));
  INSERT INTO credit_grants
    (account_id, pool, kind, amount, remaining, priority, expires_at, period_start, source_key,
     origin_transaction_id, description, created_at)
  VALUES
    (p_account, p_pool, p_kind, p_amount, 0, p_priority, p_expires_at, p_period_start, p_source_key,
     v_transaction, p_description, p_now)
  ON CONFLICT (source_key) DO NOTHING
  RETURNING id INTO v_grant;

  IF v_grant IS NULL THEN
    -- A concurrent grant with this key committed first.
    SELECT id, account_id, pool, amount, origin_transaction_id INTO v_existing
      FROM credit_grants WHERE source_key = p_source_key;
    RETURN jsonb_build_object('created', false, 'grantId', v_existing.id,
                              'transactionId', v_existing.origin_transaction_id, 'accountId', v_existing.account_id,
                              'pool', v_existing.pool, 'amount', v_existing.amount);
  END IF;

  PERFORM credits_post(p_account, p_ledger_kind, p_pool, NULL, v_grant, NULL, p_amount, 0, p_reference,
                       p_description, p_now, v_transaction);
  -- New wallet credits pay first what the wallet owes (a refund that met its credits held).
  IF p_pool = 'WALLET' THEN PERFORM credits_collect_owed(p_account, 'WALLET', p_now); END IF;
  RETURN jsonb_build_object('created', true, 'grantId', v_grant, 'transactionId', v_transaction,
                            'accountId', p_account, 'pool', p_pool, 'amount', p_amount);
END $$;
    `);
  }

  async down(): Promise<void> {
    // Nothing to undo safely: the functions' earlier bodies are gone from the chain's head, and the column only ever
    // holds what is owed back. Both stay.
  }
}
