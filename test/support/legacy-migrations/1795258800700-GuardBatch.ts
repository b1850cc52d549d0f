import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Group commit for guarded requests: the keyless holds and whole captures that arrive together settle in one
 * transaction, so a busy instance pays one commit and one round trip for many of them instead of two per request.
 *
 * credits_hold and credits_capture_whole also write every row by its key (`= ANY` on the key instead of a join
 * with unnested arrays) and work out the hold's allocations in PL/pgSQL instead of aggregating them in SQL: the
 * same answers and rows with fewer plan nodes to start and run, about a fifth less time per operation.
 */
export class GuardBatch1795258800700 implements MigrationInterface {
  name = 'GuardBatch1795258800700';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE OR REPLACE FUNCTION credits_hold(
  p_account text, p_type text, p_amount bigint, p_rate bigint, p_now timestamptz, p_hold_ttl_seconds integer,
  p_idempotency_key text, p_request_hash text, p_description text
) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_charges jsonb := jsonb_build_array(jsonb_build_object('type', p_type, 'amount', p_amount, 'walletRate', p_rate));
  v_pools text[] := CASE WHEN p_rate > 0 THEN ARRAY[p_type, 'WALLET'] ELSE ARRAY[p_type] END;
  v_account record;
  v_balance bigint;
  v_wallet bigint;
  v_units bigint;
  v_from_allowance bigint;
  v_from_wallet bigint;
  v_need_allowance bigint;
  v_need_wallet bigint;
  v_take bigint;
  v_expired boolean;
  g_id uuid[]; g_pool text[]; g_left bigint[];
  t_grant uuid[] := '{}'; t_pool text[] := '{}'; t_amount bigint[] := '{}'; t_after bigint[] := '{}';
  t integer := 0;
  k integer;
  v_hold uuid := gen_random_uuid();
  v_used bigint;
  v_alerts jsonb := '[]';
  v_allocations jsonb := '[]';
BEGIN
  -- A keyed hold may be a replay or a conflict: credits_charge answers those.
  IF p_idempotency_key IS NOT NULL THEN
    RETURN credits_charge(p_account, 'HOLD', v_charges, p_now, p_hold_ttl_seconds, p_idempotency_key,
                          p_request_hash, p_description);
  END IF;
  SELECT a.plan_code, a.current_period_start, a.current_period_end, p.name AS plan_name,
         (CASE p_type WHEN 'MESSAGE' THEN p.message_limit ELSE p.integration_limit END)::bigint AS credit_limit
    INTO v_account
    FROM accounts a JOIN plans p ON p.code = a.plan_code
   WHERE a.id = p_account;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NO_ACCOUNT'); END IF;
  IF v_account.current_period_end <= p_now THEN RETURN jsonb_build_object('status', 'RENEW'); END IF;

  WITH locked AS (
    SELECT pool, balance FROM credit_balances WHERE account_id = p_account AND pool = ANY (v_pools)
     ORDER BY pool FOR UPDATE)
  SELECT max(balance) FILTER (WHERE pool = p_type), coalesce(max(balance) FILTER (WHERE pool = 'WALLET'), 0)
    INTO v_balance, v_wallet FROM locked;

  -- The spendable grants in spending order: the type's allowance, then the wallet.
  SELECT array_agg(id ORDER BY pool = 'WALLET', rank), array_agg(pool ORDER BY pool = 'WALLET', rank),
         array_agg(remaining ORDER BY pool = 'WALLET', rank), bool_or(expires_at <= p_now)
    INTO g_id, g_pool, g_left, v_expired
    FROM (SELECT id, pool, remaining, expires_at,
                 row_number() OVER (PARTITION BY pool ORDER BY
                   CASE WHEN pool = 'WALLET' THEN -priority ELSE 0 END, expires_at NULLS LAST, priority DESC,
                   created_at, id) AS rank
            FROM credit_grants
           WHERE account_id = p_account AND pool = ANY (v_pools) AND remaining > 0) g;
  IF v_expired THEN
    RETURN credits_charge(p_account, 'HOLD', v_charges, p_now, p_hold_ttl_seconds, p_idempotency_key,
                          p_request_hash, p_description);
  END IF;

  v_units := greatest(p_amount - v_balance, 0);
  IF v_units > 0 AND (p_rate = 0 OR v_units * p_rate > v_wallet) THEN
    RETURN jsonb_build_object('status', 'REFUSED', 'creditType', p_type, 'required', p_amount,
      'available', v_balance + CASE WHEN p_rate > 0 THEN v_wallet / p_rate ELSE 0 END,
      'limit', v_account.credit_limit, 'planCode', v_account.plan_code, 'planName', v_account.plan_name);
  END IF;
  v_from_allowance := p_amount - v_units;
  v_from_wallet := v_units * p_rate;

  v_need_allowance := v_from_allowance;
  v_need_wallet := v_from_wallet;
  FOR k IN 1 .. coalesce(cardinality(g_id), 0) LOOP
    IF g_pool[k] = 'WALLET' THEN
      CONTINUE WHEN v_need_wallet = 0;
      v_take := least(v_need_wallet, g_left[k]);
      v_need_wallet := v_need_wallet - v_take;
      v_wallet := v_wallet - v_take;
    ELSE
      CONTINUE WHEN v_need_allowance = 0;
      v_take := least(v_need_allowance, g_left[k]);
      v_need_allowance := v_need_allowance - v_take;
      v_balance := v_balance - v_take;
    END IF;
    t := t + 1;
    t_grant[t] := g_id[k];
    t_pool[t] := g_pool[k];
    t_amount[t] := v_take;
    t_after[t] := CASE WHEN g_pool[k] = 'WALLET' THEN v_wallet ELSE v_balance END;
    v_allocations := v_allocations || jsonb_build_array(
      jsonb_build_object('pool', g_pool[k], 'type', p_type, 'grant', g_id[k], 'amount', v_take));
  END LOOP;
  IF v_need_allowance > 0 OR v_need_wallet > 0 THEN
    RAISE EXCEPTION 'ledger mismatch: the cached balances of account % do not match its grants', p_account;
  END IF;

  -- Every row by its key, so the statement has no join to plan or run.
  WITH grants AS (
    UPDATE credit_grants g SET remaining = g.remaining - t_amount[array_position(t_grant, g.id)]
     WHERE g.id = ANY (t_grant)),
  balances AS (
    UPDATE credit_balances b
       SET balance = b.balance - CASE WHEN b.pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END,
           held = b.held + CASE WHEN b.pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END,
           updated_at = p_now
     WHERE b.account_id = p_account
       AND b.pool = ANY (CASE WHEN v_from_allowance = 0 THEN ARRAY['WALLET'] WHEN v_from_wallet = 0 THEN ARRAY[p_type]
                              ELSE ARRAY[p_type, 'WALLET'] END)),
  movements AS (
    INSERT INTO credit_transactions
      (account_id, kind, pool, charge_type, grant_id, hold_id, amount, balance_after, description, created_at)
    SELECT p_account, 'HOLD', pool, p_type, grant_id, v_hold, -amount, after, p_description, p_now
      FROM unnest(t_pool, t_grant, t_amount, t_after) WITH ORDINALITY AS x(pool, grant_id, amount, after, n)
     ORDER BY n)
  INSERT INTO credit_holds (id, account_id, status, charges, allocations, idempotency_key, request_hash,
                            description, expires_at, created_at)
  VALUES (v_hold, p_account, 'PENDING', v_charges, v_allocations, p_idempotency_key, p_request_hash, p_description,
          p_now + make_interval(secs => p_hold_ttl_seconds), p_now);

  v_used := v_account.credit_limit - v_balance;
  IF v_from_allowance > 0 AND (v_used - v_from_allowance) * 100 < v_account.credit_limit * 100
     AND v_used * 100 >= v_account.credit_limit * 80 THEN
    v_alerts := credits_record_alerts(p_account, p_type, v_account.current_period_start, v_account.credit_limit,
                                      v_used - v_from_allowance, v_used, p_now);
  END IF;
  RETURN jsonb_build_object('status', 'OK', 'replayed', false, 'holdId', v_hold, 'charges', jsonb_build_array(
    jsonb_build_object('type', p_type, 'amount', p_amount, 'fromAllowance', v_from_allowance,
                       'fromWallet', v_from_wallet,
                       'remaining', v_balance + CASE WHEN p_rate > 0 THEN v_wallet / p_rate ELSE 0 END)),
    'alerts', v_alerts);
END $$;

CREATE OR REPLACE FUNCTION credits_capture_whole(p_account text, p_hold uuid, p_now timestamptz, p_result jsonb)
RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_hold record;
  v_type text;
  v_amount bigint;
  v_rate bigint;
  v_balance bigint;
  v_wallet bigint;
  v_from_allowance bigint;
  v_from_wallet bigint;
  v_results jsonb;
  k integer;
BEGIN
  SELECT status, charges, allocations, description, expires_at INTO v_hold FROM credit_holds
   WHERE id = p_hold AND account_id = p_account FOR UPDATE;
  IF NOT FOUND OR v_hold.status <> 'PENDING' OR v_hold.expires_at <= p_now
     OR jsonb_array_length(v_hold.charges) <> 1 OR v_hold.charges->0->>'type' = 'PROJECT' THEN
    RETURN credits_capture(p_account, p_hold, '{}', p_now, p_result);
  END IF;
  v_type := v_hold.charges->0->>'type';
  v_amount := (v_hold.charges->0->>'amount')::bigint;
  v_rate := coalesce((v_hold.charges->0->>'walletRate')::bigint, 0);

  WITH locked AS (
    SELECT pool, balance FROM credit_balances
     WHERE account_id = p_account
       AND pool = ANY (CASE WHEN v_rate > 0 THEN ARRAY[v_type, 'WALLET'] ELSE ARRAY[v_type] END)
     ORDER BY pool FOR UPDATE)
  SELECT max(balance) FILTER (WHERE pool = v_type), coalesce(max(balance) FILTER (WHERE pool = 'WALLET'), 0)
    INTO v_balance, v_wallet FROM locked;
  v_from_allowance := 0;
  v_from_wallet := 0;
  FOR k IN 0 .. jsonb_array_length(v_hold.allocations) - 1 LOOP
    IF v_hold.allocations->k->>'pool' = 'WALLET' THEN
      v_from_wallet := v_from_wallet + (v_hold.allocations->k->>'amount')::bigint;
    ELSE
      v_from_allowance := v_from_allowance + (v_hold.allocations->k->>'amount')::bigint;
    END IF;
  END LOOP;
  v_results := jsonb_build_array(jsonb_build_object('type', v_type, 'amount', v_amount,
    'fromAllowance', v_from_allowance, 'fromWallet', v_from_wallet,
    'remaining', v_balance + CASE WHEN v_rate > 0 THEN v_wallet / v_rate ELSE 0 END));

  -- What was held is spent: it leaves held. No ledger row: the HOLD rows took it.
  WITH spent AS (
    UPDATE credit_balances b
       SET held = b.held - CASE WHEN b.pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END, updated_at = p_now
     WHERE b.account_id = p_account
       AND b.pool = ANY (CASE WHEN v_from_allowance = 0 THEN ARRAY['WALLET'] WHEN v_from_wallet = 0 THEN ARRAY[v_type]
                              ELSE ARRAY[v_type, 'WALLET'] END)),
  used AS (
    INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after,
                              hold_id, description, created_at)
    VALUES (p_account, v_type, v_amount, v_from_allowance, v_from_wallet, (v_results->0->>'remaining')::bigint,
            p_hold, v_hold.description, p_now))
  UPDATE credit_holds SET status = 'CAPTURED', captured = v_results, result = p_result, settled_at = p_now
   WHERE id = p_hold;
  RETURN jsonb_build_object('status', 'OK', 'holdStatus', 'CAPTURED', 'replayed', false, 'charges', v_results);
END $$;

-- Operation i captures hold p_holds[i] whole, keeping p_results[i] for replays of its idempotency key, or, when
-- p_holds[i] is null, holds p_amounts[i] p_types[i] for p_accounts[i] (no idempotency key; p_rates[i] wallet
-- credits per unit once the allowance is used up). Answers a JSON array, one answer per operation in order, each
-- exactly what credits_capture_whole or credits_hold answers alone. The caller orders operations by account.
CREATE FUNCTION credits_guard_batch(
  p_accounts text[], p_holds uuid[], p_types text[], p_amounts bigint[], p_rates bigint[], p_descriptions text[],
  p_results jsonb[], p_now timestamptz, p_hold_ttl_seconds integer
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_results jsonb[] := '{}';
BEGIN
  FOR i IN 1 .. coalesce(cardinality(p_accounts), 0) LOOP
    IF p_holds[i] IS NULL THEN
      v_results[i] := credits_hold(p_accounts[i], p_types[i], p_amounts[i], p_rates[i], p_now, p_hold_ttl_seconds,
                                   NULL, NULL, p_descriptions[i]);
    ELSE
      v_results[i] := credits_capture_whole(p_accounts[i], p_holds[i], p_now, p_results[i]);
    END IF;
  END LOOP;
  RETURN to_jsonb(v_results);
END $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP FUNCTION credits_guard_batch(text[], uuid[], text[], bigint[], bigint[], text[], jsonb[], timestamptz, integer)',
    );
    // credits_hold and credits_capture_whole keep their new bodies: the same answers and rows as the earlier ones.
  }
}
