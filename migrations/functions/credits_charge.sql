-- Reserves (p_mode = 'HOLD') or spends (p_mode = 'CONSUME') all charges or none, in the spending order: the
-- type's allowance first (soonest expiry first), then the wallet (promotional before purchased, soonest expiry,
-- oldest); the wallet never pays PROJECT. p_charges: [{"type": "MESSAGE", "amount": 1, "walletRate": 1}, ...],
-- one entry per type; CONSUME takes one. Answers {status: OK | REFUSED | RENEW | NO_ACCOUNT |
-- IDEMPOTENCY_CONFLICT, ...}; nothing is changed unless OK. RENEW means the account's period has ended and must
-- be renewed first. The same idempotency key and request hash answers the first result again.
-- The wallet credits of every usage record written here also count into the WALLET row's total_used, in the same
-- update of that row (see credits_count_wallet_totals).
-- Locks: the charged pools and WALLET (when it pays) in the ledger's order. The account row is read, not locked.
CREATE OR REPLACE FUNCTION public.credits_charge(p_account text, p_mode text, p_charges jsonb, p_now timestamp with time zone, p_hold_ttl_seconds integer, p_idempotency_key text, p_request_hash text, p_description text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  v_account record;
  v_pools text[];
  v_charge jsonb;
  v_type text;
  v_amount bigint;
  v_rate bigint;
  v_balance bigint;
  v_held bigint;
  v_wallet_left bigint := 0;
  v_left bigint;
  v_take bigint;
  v_need bigint;
  v_from_allowance bigint;
  v_from_wallet bigint;
  v_grant record;
  v_existing record;
  v_hold uuid;
  v_kind text := CASE WHEN p_mode = 'HOLD' THEN 'HOLD' ELSE 'CONSUME' END;
  v_held_factor bigint := CASE WHEN p_mode = 'HOLD' THEN 1 ELSE 0 END;
  v_allocations jsonb := '[]';
  v_results jsonb := '[]';
  v_alerts jsonb := '[]';
  v_remaining bigint;
  v_limit bigint;
BEGIN
  IF p_mode NOT IN ('HOLD', 'CONSUME') THEN RAISE EXCEPTION 'unknown charge mode %', p_mode; END IF;
  SELECT a.plan_code, a.current_period_start, a.current_period_end, p.name AS plan_name, p.message_limit,
         p.integration_limit, p.project_limit
    INTO v_account
    FROM accounts a JOIN plans p ON p.code = a.plan_code
   WHERE a.id = p_account;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NO_ACCOUNT'); END IF;
  IF v_account.current_period_end <= p_now THEN RETURN jsonb_build_object('status', 'RENEW'); END IF;

  SELECT array_agg(DISTINCT pool ORDER BY pool) INTO v_pools FROM (
    SELECT c->>'type' AS pool FROM jsonb_array_elements(p_charges) c
    UNION ALL
    SELECT 'WALLET' FROM jsonb_array_elements(p_charges) c
     WHERE c->>'type' <> 'PROJECT' AND coalesce((c->>'walletRate')::bigint, 0) > 0
  ) pools;
  PERFORM credits_lock_pools(p_account, v_pools);

  -- Under the pool locks, a concurrent request with the same key has either committed (and is found here) or
  -- not started: a key is charged once.
  IF p_idempotency_key IS NOT NULL THEN
    IF p_mode = 'HOLD' THEN
      SELECT id, status, request_hash, result, expires_at INTO v_existing
        FROM credit_holds
       WHERE account_id = p_account AND idempotency_key = p_idempotency_key AND status IN ('PENDING', 'CAPTURED');
      IF FOUND THEN
        IF v_existing.request_hash IS DISTINCT FROM p_request_hash THEN
          RETURN jsonb_build_object('status', 'IDEMPOTENCY_CONFLICT');
        END IF;
        RETURN jsonb_build_object('status', 'OK', 'replayed', true, 'holdId', v_existing.id,
                                  'holdStatus', v_existing.status, 'result', v_existing.result,
                                  'expiresAt', v_existing.expires_at);
      END IF;
    ELSE
      SELECT credit_type, amount, from_allowance, from_wallet, remaining_after, request_hash INTO v_existing
        FROM credit_usage WHERE account_id = p_account AND idempotency_key = p_idempotency_key;
      IF FOUND THEN
        IF v_existing.request_hash IS DISTINCT FROM p_request_hash THEN
          RETURN jsonb_build_object('status', 'IDEMPOTENCY_CONFLICT');
        END IF;
        RETURN jsonb_build_object('status', 'OK', 'replayed', true, 'charges', jsonb_build_array(jsonb_build_object(
          'type', v_existing.credit_type, 'amount', v_existing.amount, 'fromAllowance', v_existing.from_allowance,
          'fromWallet', v_existing.from_wallet, 'remaining', v_existing.remaining_after)));
      END IF;
    END IF;
  END IF;

  PERFORM credits_expire_lapsed(p_account, v_pools, p_now);

  -- First pass: can every charge be paid? Nothing is written unless all can.
  IF 'WALLET' = ANY (v_pools) THEN
    SELECT balance INTO v_wallet_left FROM credit_balances WHERE account_id = p_account AND pool = 'WALLET';
  END IF;
  FOR v_charge IN SELECT value FROM jsonb_array_elements(p_charges) LOOP
    v_type := v_charge->>'type';
    v_amount := (v_charge->>'amount')::bigint;
    v_rate := coalesce((v_charge->>'walletRate')::bigint, 0);
    SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE account_id = p_account AND pool = v_type;
    IF v_type = 'PROJECT' THEN
      IF v_account.project_limit IS NOT NULL AND v_balance + v_held + v_amount > v_account.project_limit THEN
        RETURN jsonb_build_object('status', 'REFUSED', 'creditType', v_type, 'required', v_amount,
          'available', greatest(v_account.project_limit - v_balance - v_held, 0),
          'limit', v_account.project_limit, 'planCode', v_account.plan_code, 'planName', v_account.plan_name);
      END IF;
    ELSE
      v_left := greatest(v_amount - v_balance, 0);
      IF v_left > 0 AND (v_rate = 0 OR v_left * v_rate > v_wallet_left) THEN
        RETURN jsonb_build_object('status', 'REFUSED', 'creditType', v_type, 'required', v_amount,
          'available', credits_available(v_balance, v_wallet_left, v_rate),
          'limit', CASE v_type WHEN 'MESSAGE' THEN v_account.message_limit ELSE v_account.integration_limit END,
          'planCode', v_account.plan_code, 'planName', v_account.plan_name);
      END IF;
      v_wallet_left := v_wallet_left - v_left * v_rate;
    END IF;
  END LOOP;

  -- Second pass: take the credits, allowance first (soonest expiry first), then the wallet (promotional before
  -- purchased, soonest expiry first, oldest first).
  IF p_mode = 'HOLD' THEN v_hold := gen_random_uuid(); END IF;
  FOR v_charge IN SELECT value FROM jsonb_array_elements(p_charges) LOOP
    v_type := v_charge->>'type';
    v_amount := (v_charge->>'amount')::bigint;
    v_rate := coalesce((v_charge->>'walletRate')::bigint, 0);
    v_from_allowance := 0;
    v_from_wallet := 0;

    IF v_type = 'PROJECT' THEN
      PERFORM credits_post(p_account, v_kind, 'PROJECT', 'PROJECT', NULL, v_hold, -v_amount,
                           v_amount * v_held_factor, NULL, p_description, p_now);
      v_allocations := v_allocations || jsonb_build_object('pool', 'PROJECT', 'type', 'PROJECT', 'amount', v_amount);
      v_from_allowance := v_amount;
    ELSE
      v_left := v_amount;
      FOR v_grant IN
        SELECT id, remaining FROM credit_grants_in_spending_order
         WHERE account_id = p_account AND pool = v_type
         ORDER BY spending_rank
      LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_left, v_grant.remaining);
        PERFORM credits_post(p_account, v_kind, v_type, v_type, v_grant.id, v_hold, -v_take,
                             v_take * v_held_factor, NULL, p_description, p_now);
        v_allocations := v_allocations || jsonb_build_object('pool', v_type, 'type', v_type, 'grant', v_grant.id,
                                                             'amount', v_take);
        v_left := v_left - v_take;
        v_from_allowance := v_from_allowance + v_take;
      END LOOP;

      IF v_left > 0 THEN
        v_need := v_left * v_rate;
        FOR v_grant IN
          SELECT id, remaining FROM credit_grants_in_spending_order
           WHERE account_id = p_account AND pool = 'WALLET'
           ORDER BY spending_rank
        LOOP
          EXIT WHEN v_need = 0;
          v_take := least(v_need, v_grant.remaining);
          PERFORM credits_post(p_account, v_kind, 'WALLET', v_type, v_grant.id, v_hold, -v_take,
                               v_take * v_held_factor, NULL, p_description, p_now);
          v_allocations := v_allocations || jsonb_build_object('pool', 'WALLET', 'type', v_type,
                                                               'grant', v_grant.id, 'amount', v_take);
          v_need := v_need - v_take;
          v_from_wallet := v_from_wallet + v_take;
        END LOOP;
        IF v_need > 0 THEN
          RAISE EXCEPTION 'ledger mismatch: the cached balances of account % do not match its grants', p_account;
        END IF;
      END IF;
    END IF;

    v_remaining := credits_remaining(p_account, v_type, v_rate, v_account.project_limit);
    v_results := v_results || jsonb_build_object('type', v_type, 'amount', v_amount,
      'fromAllowance', v_from_allowance, 'fromWallet', v_from_wallet, 'remaining', v_remaining);

    v_limit := CASE v_type WHEN 'MESSAGE' THEN v_account.message_limit
                           WHEN 'INTEGRATION' THEN v_account.integration_limit ELSE v_account.project_limit END;
    IF v_limit IS NOT NULL THEN
      SELECT CASE WHEN v_type = 'PROJECT' THEN balance + held ELSE v_limit - balance END INTO v_balance
        FROM credit_balances WHERE account_id = p_account AND pool = v_type;
      v_alerts := v_alerts || credits_record_alerts(p_account, v_type, v_account.current_period_start, v_limit,
                                                    v_balance - v_from_allowance, v_balance, p_now);
    END IF;

    IF p_mode = 'CONSUME' THEN
      INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after,
                                idempotency_key, request_hash, description, created_at)
      VALUES (p_account, v_type, v_amount, v_from_allowance, v_from_wallet, v_remaining,
              p_idempotency_key, p_request_hash, p_description, p_now);
      IF v_from_wallet > 0 THEN
        UPDATE credit_balances SET total_used = total_used + v_from_wallet
         WHERE account_id = p_account AND pool = 'WALLET';
      END IF;
    END IF;
  END LOOP;

  IF p_mode = 'HOLD' THEN
    INSERT INTO credit_holds (id, account_id, status, charges, allocations, idempotency_key, request_hash,
                              description, expires_at, created_at)
    VALUES (v_hold, p_account, 'PENDING', p_charges, v_allocations, p_idempotency_key, p_request_hash,
            p_description, p_now + make_interval(secs => p_hold_ttl_seconds), p_now);
  END IF;
  RETURN jsonb_build_object('status', 'OK', 'replayed', false, 'holdId', v_hold, 'charges', v_results,
                            'alerts', v_alerts);
END $function$;
