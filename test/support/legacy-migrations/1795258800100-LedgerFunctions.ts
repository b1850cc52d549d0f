import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's write operations as database functions, so that a charge is one round trip and all of its row
 * changes commit or fail together. CreditsService is the only caller.
 *
 * Locking rule: a grant's `remaining` and a pool's `balance` / `held` change only while the pool's
 * `credit_balances` row is locked, and pool rows are always locked in one order (INTEGRATION, MESSAGE, PROJECT,
 * WALLET: alphabetical), after the account row or a hold row when those are locked at all. That makes concurrent
 * charges on one account queue instead of deadlock, and makes `balance_after` an exact running balance.
 */
export class LedgerFunctions1795258800100 implements MigrationInterface {
  name = 'LedgerFunctions1795258800100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
-- One movement: the grant (if any), the pool's cached balance and one ledger row. For credit pools the amount
-- changes the available balance; for PROJECT a negative amount takes quota units (into held when p_held_delta says
-- so, else into use). Returns the ledger row id.
CREATE FUNCTION credits_post(
  p_account text, p_kind text, p_pool text, p_charge_type text, p_grant uuid, p_hold uuid,
  p_amount bigint, p_held_delta bigint, p_reference text, p_description text, p_now timestamptz,
  p_transaction_id bigint DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_after bigint;
  v_id bigint;
BEGIN
  IF p_grant IS NOT NULL THEN
    UPDATE credit_grants SET remaining = remaining + p_amount WHERE id = p_grant;
    IF NOT FOUND THEN RAISE EXCEPTION 'credit grant % does not exist', p_grant; END IF;
  END IF;
  IF p_pool = 'PROJECT' THEN
    UPDATE credit_balances
       SET balance = balance - p_amount - p_held_delta, held = held + p_held_delta, updated_at = p_now
     WHERE account_id = p_account AND pool = p_pool
    RETURNING balance + held INTO v_after;
  ELSE
    UPDATE credit_balances
       SET balance = balance + p_amount, held = held + p_held_delta, updated_at = p_now
     WHERE account_id = p_account AND pool = p_pool
    RETURNING balance INTO v_after;
  END IF;
  IF NOT FOUND THEN RAISE EXCEPTION 'account % has no % balance', p_account, p_pool; END IF;

  IF p_transaction_id IS NULL THEN
    INSERT INTO credit_transactions
      (account_id, kind, pool, charge_type, grant_id, hold_id, amount, balance_after, reference, description, created_at)
    VALUES
      (p_account, p_kind, p_pool, p_charge_type, p_grant, p_hold, p_amount, v_after, p_reference, p_description, p_now)
    RETURNING id INTO v_id;
  ELSE
    INSERT INTO credit_transactions
      (id, account_id, kind, pool, charge_type, grant_id, hold_id, amount, balance_after, reference, description, created_at)
    VALUES
      (p_transaction_id, p_account, p_kind, p_pool, p_charge_type, p_grant, p_hold, p_amount, v_after, p_reference,
       p_description, p_now)
    RETURNING id INTO v_id;
  END IF;
  RETURN v_id;
END $$;

-- Locks an account's pool rows in the fixed order.
CREATE FUNCTION credits_lock_pools(p_account text, p_pools text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM credit_balances WHERE account_id = p_account AND pool = ANY (p_pools) ORDER BY pool FOR UPDATE;
END $$;

-- What is left to pay for one more charge of a type: allowance plus what the wallet covers at its rate.
-- PROJECT: the free quota units, null when unlimited.
CREATE FUNCTION credits_remaining(p_account text, p_type text, p_wallet_rate bigint, p_project_limit integer)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_balance bigint;
  v_held bigint;
  v_wallet bigint := 0;
BEGIN
  SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE account_id = p_account AND pool = p_type;
  IF p_type = 'PROJECT' THEN
    RETURN CASE WHEN p_project_limit IS NULL THEN NULL ELSE greatest(p_project_limit - v_balance - v_held, 0) END;
  END IF;
  IF p_wallet_rate > 0 THEN
    SELECT balance INTO v_wallet FROM credit_balances WHERE account_id = p_account AND pool = 'WALLET';
    RETURN v_balance + v_wallet / p_wallet_rate;
  END IF;
  RETURN v_balance;
END $$;

-- Expires grants of the given (locked) pools whose expiry has passed, so that the cached balance only counts
-- spendable credits.
CREATE FUNCTION credits_expire_lapsed(p_account text, p_pools text[], p_now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT id, pool, remaining FROM credit_grants
     WHERE account_id = p_account AND pool = ANY (p_pools) AND remaining > 0 AND expires_at <= p_now
     ORDER BY pool, expires_at, id
  LOOP
    PERFORM credits_post(p_account, 'EXPIRE', v_grant.pool, NULL, v_grant.id, NULL, -v_grant.remaining, 0,
                         NULL, 'expired', p_now);
  END LOOP;
END $$;

-- Adds a grant once per source key. Returns {created, grantId, transactionId, accountId, pool, amount}; a source
-- key seen before returns the first grant with created = false.
CREATE FUNCTION credits_grant(
  p_account text, p_pool text, p_kind text, p_ledger_kind text, p_amount bigint, p_priority integer,
  p_expires_at timestamptz, p_period_start timestamptz, p_source_key text, p_description text, p_reference text,
  p_now timestamptz
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_transaction bigint := nextval(pg_get_serial_sequence('credit_transactions', 'id'));
  v_grant uuid;
  v_existing record;
BEGIN
  INSERT INTO credit_grants
    (account_id, pool, kind, amount, remaining, priority, expires_at, period_start, source_key,
     origin_transaction_id, description, created_at)
  VALUES
    (p_account, p_pool, p_kind, p_amount, 0, p_priority, p_expires_at, p_period_start, p_source_key,
     v_transaction, p_description, p_now)
  ON CONFLICT (source_key) DO NOTHING
  RETURNING id INTO v_grant;

  IF v_grant IS NULL THEN
    SELECT id, account_id, pool, amount, origin_transaction_id INTO v_existing
      FROM credit_grants WHERE source_key = p_source_key;
    RETURN jsonb_build_object('created', false, 'grantId', v_existing.id,
                              'transactionId', v_existing.origin_transaction_id, 'accountId', v_existing.account_id,
                              'pool', v_existing.pool, 'amount', v_existing.amount);
  END IF;

  PERFORM credits_lock_pools(p_account, ARRAY[p_pool]);
  PERFORM credits_post(p_account, p_ledger_kind, p_pool, NULL, v_grant, NULL, p_amount, 0, p_reference,
                       p_description, p_now, v_transaction);
  RETURN jsonb_build_object('created', true, 'grantId', v_grant, 'transactionId', v_transaction,
                            'accountId', p_account, 'pool', p_pool, 'amount', p_amount);
END $$;

-- Takes credits out of one grant (expiry, clawback, correction), at most p_max (null: all that remains).
-- The caller holds the pool lock. Returns the amount taken.
CREATE FUNCTION credits_debit_grant(
  p_grant uuid, p_kind text, p_max bigint, p_reference text, p_description text, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_grant record;
  v_take bigint;
BEGIN
  SELECT account_id, pool, remaining INTO v_grant FROM credit_grants WHERE id = p_grant;
  v_take := least(v_grant.remaining, coalesce(p_max, v_grant.remaining));
  IF v_take > 0 THEN
    PERFORM credits_post(v_grant.account_id, p_kind, v_grant.pool, NULL, p_grant, NULL, -v_take, 0, p_reference,
                         p_description, p_now);
  END IF;
  RETURN v_take;
END $$;

-- Starting the period that begins at p_period_start: what is left of any other period's allowance expires.
CREATE FUNCTION credits_expire_allowance(p_account text, p_period_start timestamptz, p_now timestamptz)
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
END $$;

-- Records the usage alerts a charge crossed: 80 % and 100 % of the type's limit, once per account, type, period
-- and threshold. p_before and p_after count what is used or held. Returns the alerts newly recorded.
CREATE FUNCTION credits_record_alerts(
  p_account text, p_type text, p_period_start timestamptz, p_limit bigint, p_before bigint, p_after bigint,
  p_now timestamptz
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_threshold integer;
  v_alerts jsonb := '[]';
BEGIN
  IF p_limit IS NULL OR p_limit <= 0 THEN RETURN v_alerts; END IF;
  FOREACH v_threshold IN ARRAY ARRAY[80, 100] LOOP
    IF p_before * 100 < p_limit * v_threshold AND p_after * 100 >= p_limit * v_threshold THEN
      INSERT INTO usage_alerts (account_id, credit_type, period_start, threshold, used, credit_limit, created_at)
      VALUES (p_account, p_type, p_period_start, v_threshold, p_after, p_limit, p_now)
      ON CONFLICT DO NOTHING;
      IF FOUND THEN
        v_alerts := v_alerts || jsonb_build_object('creditType', p_type, 'threshold', v_threshold, 'used', p_after,
                                                   'limit', p_limit, 'periodStart', p_period_start);
      END IF;
    END IF;
  END LOOP;
  RETURN v_alerts;
END $$;

-- Reserves (p_mode = 'HOLD') or spends (p_mode = 'CONSUME') all charges or none.
-- p_charges: [{"type": "MESSAGE", "amount": 1, "walletRate": 1}, ...], one entry per type; CONSUME takes one.
-- Answers {status: OK | REFUSED | RENEW | NO_ACCOUNT | IDEMPOTENCY_CONFLICT, ...}. RENEW means the account's
-- period has ended and must be renewed first; nothing was changed.
CREATE FUNCTION credits_charge(
  p_account text, p_mode text, p_charges jsonb, p_now timestamptz, p_hold_ttl_seconds integer,
  p_idempotency_key text, p_request_hash text, p_description text
) RETURNS jsonb LANGUAGE plpgsql AS $$
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
          'available', v_balance + CASE WHEN v_rate > 0 THEN v_wallet_left / v_rate ELSE 0 END,
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
        SELECT id, remaining FROM credit_grants
         WHERE account_id = p_account AND pool = v_type AND remaining > 0
         ORDER BY expires_at NULLS LAST, priority DESC, created_at, id
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
          SELECT id, remaining FROM credit_grants
           WHERE account_id = p_account AND pool = 'WALLET' AND remaining > 0
           ORDER BY priority DESC, expires_at NULLS LAST, created_at, id
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
END $$;

-- Gives a held allocation back. Credits whose grant expired meanwhile come back and expire at once, so the ledger
-- shows where they went.
CREATE FUNCTION credits_return_allocation(
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
    END IF;
  END IF;
END $$;

-- Gives every allocation of a pending hold back and marks it RELEASED or EXPIRED. A hold already settled is
-- answered as it is.
CREATE FUNCTION credits_release(p_account text, p_hold uuid, p_status text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hold record;
  v_allocation jsonb;
  v_pools text[];
BEGIN
  IF p_status NOT IN ('RELEASED', 'EXPIRED') THEN RAISE EXCEPTION 'unknown release status %', p_status; END IF;
  SELECT id, status, allocations INTO v_hold FROM credit_holds
   WHERE id = p_hold AND account_id = p_account FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NOT_FOUND'); END IF;
  IF v_hold.status <> 'PENDING' THEN
    RETURN jsonb_build_object('status', 'OK', 'holdStatus', v_hold.status, 'replayed', true);
  END IF;
  SELECT array_agg(DISTINCT a->>'pool' ORDER BY a->>'pool') INTO v_pools FROM jsonb_array_elements(v_hold.allocations) a;
  PERFORM credits_lock_pools(p_account, v_pools);
  FOR v_allocation IN SELECT value FROM jsonb_array_elements(v_hold.allocations) LOOP
    PERFORM credits_return_allocation(p_account, v_allocation, p_hold, (v_allocation->>'amount')::bigint,
      CASE WHEN p_status = 'EXPIRED' THEN 'hold expired' ELSE 'hold released' END, p_now);
  END LOOP;
  UPDATE credit_holds SET status = p_status, settled_at = p_now WHERE id = p_hold;
  RETURN jsonb_build_object('status', 'OK', 'holdStatus', p_status, 'replayed', false);
END $$;

-- Settles a pending hold. p_actuals ({"MESSAGE": 0, ...}) may lower a charge; the difference goes back, wallet
-- credits first. Writes one usage record per type actually used, and keeps p_result for replays.
CREATE FUNCTION credits_capture(
  p_account text, p_hold uuid, p_actuals jsonb, p_now timestamptz, p_result jsonb DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
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
BEGIN
  SELECT id, status, charges, allocations, description, expires_at INTO v_hold FROM credit_holds
   WHERE id = p_hold AND account_id = p_account FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NOT_FOUND'); END IF;
  IF v_hold.status = 'CAPTURED' THEN
    RETURN jsonb_build_object('status', 'OK', 'holdStatus', 'CAPTURED', 'replayed', true);
  END IF;
  IF v_hold.status <> 'PENDING' THEN RETURN jsonb_build_object('status', 'HOLD_' || v_hold.status); END IF;
  IF v_hold.expires_at <= p_now THEN
    PERFORM credits_release(p_account, p_hold, 'EXPIRED', p_now);
    RETURN jsonb_build_object('status', 'HOLD_EXPIRED');
  END IF;

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

    FOR v_allocation IN
      SELECT value FROM jsonb_array_elements(v_hold.allocations) WITH ORDINALITY AS a(value, position)
       WHERE value->>'type' = v_type ORDER BY (value->>'pool' = 'WALLET') DESC, position DESC
    LOOP
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
      -- What stays is spent: it leaves held (PROJECT: it moves into use). No ledger row: the HOLD row took it.
      IF v_amount - v_units > 0 THEN
        UPDATE credit_balances
           SET held = held - (v_amount - v_units),
               balance = balance + CASE WHEN pool = 'PROJECT' THEN v_amount - v_units ELSE 0 END,
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

  UPDATE credit_holds SET status = 'CAPTURED', captured = v_results, result = p_result, settled_at = p_now
   WHERE id = p_hold;
  RETURN jsonb_build_object('status', 'OK', 'holdStatus', 'CAPTURED', 'replayed', false, 'charges', v_results);
END $$;

-- Releases holds whose time ran out. Safe to run from many instances at once: each claims different holds.
CREATE FUNCTION credits_release_expired_holds(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_hold record;
  v_count integer := 0;
BEGIN
  FOR v_hold IN
    SELECT id, account_id FROM credit_holds
     WHERE status = 'PENDING' AND expires_at <= p_now
     ORDER BY expires_at LIMIT p_limit
     FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM credits_release(v_hold.account_id, v_hold.id, 'EXPIRED', p_now);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;

-- Gives quota units in use back (a deleted project). Refuses to go below zero.
CREATE FUNCTION credits_return_units(
  p_account text, p_type text, p_amount bigint, p_reference text, p_description text, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_in_use bigint;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY[p_type]);
  SELECT balance INTO v_in_use FROM credit_balances WHERE account_id = p_account AND pool = p_type;
  IF v_in_use IS NULL OR v_in_use < p_amount THEN
    RAISE EXCEPTION 'account % has only % % units in use, cannot return %', p_account, v_in_use, p_type, p_amount;
  END IF;
  RETURN credits_post(p_account, 'REFUND', p_type, p_type, NULL, NULL, p_amount, 0, p_reference, p_description, p_now);
END $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION credits_return_units(text, text, bigint, text, text, timestamptz);
      DROP FUNCTION credits_release_expired_holds(timestamptz, integer);
      DROP FUNCTION credits_capture(text, uuid, jsonb, timestamptz, jsonb);
      DROP FUNCTION credits_release(text, uuid, text, timestamptz);
      DROP FUNCTION credits_return_allocation(text, jsonb, uuid, bigint, text, timestamptz);
      DROP FUNCTION credits_charge(text, text, jsonb, timestamptz, integer, text, text, text);
      DROP FUNCTION credits_record_alerts(text, text, timestamptz, bigint, bigint, bigint, timestamptz);
      DROP FUNCTION credits_expire_allowance(text, timestamptz, timestamptz);
      DROP FUNCTION credits_debit_grant(uuid, text, bigint, text, text, timestamptz);
      DROP FUNCTION credits_grant(text, text, text, text, bigint, integer, timestamptz, timestamptz, text, text, text,
                                  timestamptz);
      DROP FUNCTION credits_expire_lapsed(text, text[], timestamptz);
      DROP FUNCTION credits_remaining(text, text, bigint, integer);
      DROP FUNCTION credits_lock_pools(text, text[]);
      DROP FUNCTION credits_post(text, text, text, text, uuid, uuid, bigint, bigint, text, text, timestamptz, bigint);
    `);
  }
}
