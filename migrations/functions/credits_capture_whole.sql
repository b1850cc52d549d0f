-- Captures a pending hold of one MESSAGE or INTEGRATION charge whole (nothing reported lower): exactly what
-- credits_capture(p_account, p_hold, '{}', p_now, p_result) does, which answers every other case.
-- The wallet credits of every usage record written here also count into the WALLET row's total_used, in the same
-- update of that row (see credits_count_wallet_totals).
-- Locks: the hold row (FOR UPDATE), then its pools in the ledger's order.
CREATE OR REPLACE FUNCTION public.credits_capture_whole(p_account text, p_hold uuid, p_now timestamp with time zone, p_result jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
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
  SELECT status, charges, allocations, description INTO v_hold FROM credit_holds
   WHERE id = p_hold AND account_id = p_account FOR UPDATE;
  IF NOT FOUND OR v_hold.status <> 'PENDING'
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
    'remaining', credits_available(v_balance, v_wallet, v_rate)));

  -- What was held is spent: it leaves held. No ledger row: the HOLD rows took it.
  WITH spent AS (
    UPDATE credit_balances b
       SET held = b.held - CASE WHEN b.pool = 'WALLET' THEN v_from_wallet ELSE v_from_allowance END,
           total_used = b.total_used + CASE WHEN b.pool = 'WALLET' THEN v_from_wallet ELSE 0 END, updated_at = p_now
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
END $function$;
