-- A hold of one MESSAGE or INTEGRATION charge, the common case of a guarded operation. It answers and writes
-- exactly what credits_charge(p_account, 'HOLD', [{type, amount, walletRate}], ...) would, and hands over to it
-- for an idempotency key, a lapsed grant or a hold that one grant per pool cannot cover.
-- Locks: the charged pool and WALLET (when the wallet pays) in the ledger's order, in one statement.
CREATE OR REPLACE FUNCTION public.credits_hold(p_account text, p_type text, p_amount bigint, p_rate bigint, p_now timestamp with time zone, p_hold_ttl_seconds integer, p_idempotency_key text, p_request_hash text, p_description text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  v_account record;
  v_balance bigint;
  v_wallet bigint;
  v_units bigint;
  v_from_allowance bigint;
  v_from_wallet bigint;
  v_grants record;
  v_hold uuid;
  v_allocations jsonb;
  v_used bigint;
  v_alerts jsonb := '[]';
BEGIN
  -- A keyed hold may be a replay or a conflict: credits_charge answers those.
  IF p_idempotency_key IS NOT NULL THEN
    RETURN credits_charge(p_account, 'HOLD', jsonb_build_array(jsonb_build_object('type', p_type, 'amount', p_amount,
      'walletRate', p_rate)), p_now, p_hold_ttl_seconds, p_idempotency_key, p_request_hash, p_description);
  END IF;
  SELECT a.plan_code, a.current_period_start, a.current_period_end, p.name AS plan_name,
         (CASE p_type WHEN 'MESSAGE' THEN p.message_limit ELSE p.integration_limit END)::bigint AS credit_limit
    INTO v_account
    FROM accounts a JOIN plans p ON p.code = a.plan_code
   WHERE a.id = p_account;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NO_ACCOUNT'); END IF;
  IF v_account.current_period_end <= p_now THEN RETURN jsonb_build_object('status', 'RENEW'); END IF;

  WITH locked AS (
    SELECT pool, balance FROM credit_balances
     WHERE account_id = p_account AND pool = ANY (CASE WHEN p_rate > 0 THEN ARRAY[p_type, 'WALLET'] ELSE ARRAY[p_type] END)
     ORDER BY pool FOR UPDATE)
  SELECT max(balance) FILTER (WHERE pool = p_type), coalesce(max(balance) FILTER (WHERE pool = 'WALLET'), 0)
    INTO v_balance, v_wallet FROM locked;

  v_units := greatest(p_amount - v_balance, 0);
  IF v_units > 0 AND (p_rate = 0 OR v_units * p_rate > v_wallet) THEN
    RETURN jsonb_build_object('status', 'REFUSED', 'creditType', p_type, 'required', p_amount,
      'available', credits_available(v_balance, v_wallet, p_rate),
      'limit', v_account.credit_limit, 'planCode', v_account.plan_code, 'planName', v_account.plan_name);
  END IF;
  v_from_allowance := p_amount - v_units;
  v_from_wallet := v_units * p_rate;

  -- Under the pool locks: the first spendable grant of each pool in spending order, and whether any has lapsed.
  SELECT (array_agg(id) FILTER (WHERE pool = p_type AND spending_rank = 1))[1] AS allowance_grant,
         max(remaining) FILTER (WHERE pool = p_type AND spending_rank = 1) AS allowance_left,
         (array_agg(id) FILTER (WHERE pool = 'WALLET' AND spending_rank = 1))[1] AS wallet_grant,
         max(remaining) FILTER (WHERE pool = 'WALLET' AND spending_rank = 1) AS wallet_left,
         coalesce(bool_or(expires_at <= p_now), false) AS lapsed
    INTO v_grants
    FROM credit_grants_in_spending_order
   WHERE account_id = p_account
     AND pool = ANY (CASE WHEN p_rate > 0 THEN ARRAY[p_type, 'WALLET'] ELSE ARRAY[p_type] END);
  IF v_grants.lapsed OR (v_from_allowance > 0 AND v_grants.allowance_left < v_from_allowance)
     OR (v_from_wallet > 0 AND v_grants.wallet_left < v_from_wallet) THEN
    -- Lapsed grants to expire first, or a pool paid by more than one grant: the general path.
    RETURN credits_charge(p_account, 'HOLD', jsonb_build_array(jsonb_build_object('type', p_type, 'amount', p_amount,
      'walletRate', p_rate)), p_now, p_hold_ttl_seconds, NULL, p_request_hash, p_description);
  END IF;

  v_hold := gen_random_uuid();
  v_allocations := CASE
    WHEN v_from_wallet = 0 THEN jsonb_build_array(jsonb_build_object('pool', p_type, 'type', p_type,
      'grant', v_grants.allowance_grant, 'amount', v_from_allowance))
    WHEN v_from_allowance = 0 THEN jsonb_build_array(jsonb_build_object('pool', 'WALLET', 'type', p_type,
      'grant', v_grants.wallet_grant, 'amount', v_from_wallet))
    ELSE jsonb_build_array(
      jsonb_build_object('pool', p_type, 'type', p_type, 'grant', v_grants.allowance_grant, 'amount', v_from_allowance),
      jsonb_build_object('pool', 'WALLET', 'type', p_type, 'grant', v_grants.wallet_grant, 'amount', v_from_wallet))
  END;
  WITH grants AS (
    UPDATE credit_grants
       SET remaining = remaining - CASE WHEN pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END
     WHERE id = ANY (ARRAY[CASE WHEN v_from_allowance > 0 THEN v_grants.allowance_grant END,
                           CASE WHEN v_from_wallet > 0 THEN v_grants.wallet_grant END])),
  balances AS (
    UPDATE credit_balances
       SET balance = balance - CASE WHEN pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END,
           held = held + CASE WHEN pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END,
           updated_at = p_now
     WHERE account_id = p_account
       AND pool = ANY (ARRAY[CASE WHEN v_from_allowance > 0 THEN p_type END,
                             CASE WHEN v_from_wallet > 0 THEN 'WALLET' END])),
  movements AS (
    INSERT INTO credit_transactions
      (account_id, kind, pool, charge_type, grant_id, hold_id, amount, balance_after, description, created_at)
    SELECT p_account, 'HOLD', m.pool, p_type, m.grant_id, v_hold, -m.amount, m.after, p_description, p_now
      FROM (VALUES (1, p_type, v_grants.allowance_grant, v_from_allowance, v_balance - v_from_allowance),
                   (2, 'WALLET', v_grants.wallet_grant, v_from_wallet, v_wallet - v_from_wallet))
           AS m(n, pool, grant_id, amount, after)
     WHERE m.amount > 0
     ORDER BY m.n)
  INSERT INTO credit_holds (id, account_id, status, charges, allocations, request_hash, description, expires_at,
                            created_at)
  VALUES (v_hold, p_account, 'PENDING',
          jsonb_build_array(jsonb_build_object('type', p_type, 'amount', p_amount, 'walletRate', p_rate)),
          v_allocations, p_request_hash, p_description, p_now + make_interval(secs => p_hold_ttl_seconds), p_now);
  v_balance := v_balance - v_from_allowance;
  v_wallet := v_wallet - v_from_wallet;

  v_used := v_account.credit_limit - v_balance;
  IF v_from_allowance > 0 AND credits_crosses_alert(v_account.credit_limit, v_used - v_from_allowance, v_used) THEN
    v_alerts := credits_record_alerts(p_account, p_type, v_account.current_period_start, v_account.credit_limit,
                                      v_used - v_from_allowance, v_used, p_now);
  END IF;
  RETURN jsonb_build_object('status', 'OK', 'replayed', false, 'holdId', v_hold, 'charges', jsonb_build_array(
    jsonb_build_object('type', p_type, 'amount', p_amount, 'fromAllowance', v_from_allowance,
                       'fromWallet', v_from_wallet,
                       'remaining', credits_available(v_balance, v_wallet, p_rate))),
    'alerts', v_alerts);
END $function$;
