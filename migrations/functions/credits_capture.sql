-- Settles a pending hold. p_actuals ({"MESSAGE": 0, ...}) may lower a charge; the difference goes back, wallet
-- credits first. Writes one usage record per type actually used, and keeps p_result for replays. A hold already
-- settled is answered as it is. An allocation that gave units back records what it kept (`kept`), which the
-- history reads (credit_transactions_page); one without was kept whole.
-- The wallet credits of every usage record written here also count into the WALLET row's total_used, in the same
-- update of that row (see credits_count_wallet_totals).
-- Locks: the hold row (FOR UPDATE), then its pools in the ledger's order.
CREATE OR REPLACE FUNCTION public.credits_capture(p_account text, p_hold uuid, p_actuals jsonb, p_now timestamp with time zone, p_result jsonb DEFAULT NULL::jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_hold record;
  v_pools text[];
  v_charge jsonb;
  v_allocation jsonb;
  v_type text;
  v_amount bigint;
  v_actual bigint;
  v_rate bigint;
  v_give_back bigint;
  v_wallet_units bigint;
  v_wallet_back bigint;
  v_units bigint;
  v_kept_wallet bigint;
  v_kept_allowance bigint;
  v_project_limit integer;
  v_remaining bigint;
  v_results jsonb := '[]';
  v_part record;
  v_kept jsonb := '{}';
BEGIN
  SELECT id, status, charges, allocations, description INTO v_hold FROM credit_holds
   WHERE id = p_hold AND account_id = p_account FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NOT_FOUND'); END IF;
  IF v_hold.status = 'CAPTURED' THEN
    RETURN jsonb_build_object('status', 'OK', 'holdStatus', 'CAPTURED', 'replayed', true);
  END IF;
  IF v_hold.status <> 'PENDING' THEN RETURN jsonb_build_object('status', 'HOLD_' || v_hold.status); END IF;

  FOR v_charge IN SELECT value FROM jsonb_array_elements(v_hold.charges) LOOP
    v_actual := coalesce((p_actuals->>(v_charge->>'type'))::bigint, (v_charge->>'amount')::bigint);
    IF v_actual < 0 OR v_actual > (v_charge->>'amount')::bigint THEN
      RETURN jsonb_build_object('status', 'INVALID_ACTUAL', 'creditType', v_charge->>'type',
                                'reserved', (v_charge->>'amount')::bigint, 'actual', v_actual);
    END IF;
  END LOOP;

  SELECT p.project_limit INTO v_project_limit FROM accounts a JOIN plans p ON p.code = a.plan_code
   WHERE a.id = p_account;
  SELECT array_agg(DISTINCT a->>'pool' ORDER BY a->>'pool') INTO v_pools FROM jsonb_array_elements(v_hold.allocations) a;
  PERFORM credits_lock_pools(p_account, v_pools);

  FOR v_charge IN SELECT value FROM jsonb_array_elements(v_hold.charges) LOOP
    v_type := v_charge->>'type';
    v_amount := (v_charge->>'amount')::bigint;
    v_actual := coalesce((p_actuals->>v_type)::bigint, v_amount);
    v_rate := coalesce((v_charge->>'walletRate')::bigint, 0);
    v_give_back := v_amount - v_actual;

    -- Wallet-paid units go back first (at the rate they were paid), then allowance units, newest first.
    SELECT coalesce(sum((a->>'amount')::bigint), 0) INTO v_kept_wallet
      FROM jsonb_array_elements(v_hold.allocations) a WHERE a->>'type' = v_type AND a->>'pool' = 'WALLET';
    v_wallet_units := CASE WHEN v_rate > 0 THEN v_kept_wallet / v_rate ELSE 0 END;
    v_wallet_back := least(v_give_back, v_wallet_units) * v_rate;
    v_give_back := v_give_back - least(v_give_back, v_wallet_units);
    v_kept_wallet := v_kept_wallet - v_wallet_back;
    v_kept_allowance := 0;

    FOR v_part IN
      SELECT value, position FROM jsonb_array_elements(v_hold.allocations) WITH ORDINALITY AS a(value, position)
       WHERE value->>'type' = v_type ORDER BY (value->>'pool' = 'WALLET') DESC, position DESC
    LOOP
      v_allocation := v_part.value;
      v_amount := (v_allocation->>'amount')::bigint;
      IF v_allocation->>'pool' = 'WALLET' THEN
        v_units := least(v_amount, v_wallet_back);
        v_wallet_back := v_wallet_back - v_units;
      ELSE
        v_units := least(v_amount, v_give_back);
        v_give_back := v_give_back - v_units;
        v_kept_allowance := v_kept_allowance + v_amount - v_units;
      END IF;
      PERFORM credits_return_allocation(p_account, v_allocation, p_hold, v_units, 'unused part of a hold', p_now);
      IF v_units > 0 THEN v_kept := v_kept || jsonb_build_object(v_part.position::text, v_amount - v_units); END IF;
      -- What stays is spent: it leaves held (PROJECT: it moves into use). No ledger row: the HOLD row took it.
      IF v_amount - v_units > 0 THEN
        UPDATE credit_balances
           SET held = held - (v_amount - v_units),
               balance = balance + CASE WHEN pool = 'PROJECT' THEN v_amount - v_units ELSE 0 END,
               total_used = total_used + CASE WHEN pool = 'WALLET' THEN v_amount - v_units ELSE 0 END,
               updated_at = p_now
         WHERE account_id = p_account AND pool = v_allocation->>'pool';
      END IF;
    END LOOP;

    v_remaining := credits_remaining(p_account, v_type, v_rate, v_project_limit);
    v_results := v_results || jsonb_build_object('type', v_type, 'amount', v_actual,
      'fromAllowance', v_kept_allowance, 'fromWallet', v_kept_wallet, 'remaining', v_remaining);
    IF v_actual > 0 THEN
      INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after,
                                hold_id, description, created_at)
      VALUES (p_account, v_type, v_actual, v_kept_allowance, v_kept_wallet, v_remaining, p_hold,
              v_hold.description, p_now);
    END IF;
  END LOOP;

  UPDATE credit_holds
     SET status = 'CAPTURED', captured = v_results, result = p_result, settled_at = p_now,
         allocations = CASE WHEN v_kept = '{}' THEN allocations ELSE (
           SELECT jsonb_agg(CASE WHEN v_kept ? n::text THEN a || jsonb_build_object('kept', v_kept->n::text) ELSE a END
                            ORDER BY n)
             FROM jsonb_array_elements(allocations) WITH ORDINALITY AS e(a, n)) END
   WHERE id = p_hold;
  RETURN jsonb_build_object('status', 'OK', 'holdStatus', 'CAPTURED', 'replayed', false, 'charges', v_results);
END $function$;
