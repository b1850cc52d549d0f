import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No credit is given away.
 *
 * - A hold still pending when its request succeeds is captured, however late: its credits were never given to
 *   anyone else. Only the sweeper expires a hold (one whose instance died), and an instance keeps the holds of its
 *   running requests alive (credits_extend_holds).
 * - A refund or dispute takes the refunded purchase's credits back from the wallet as a whole (credits are
 *   fungible), never below zero; what could not be taken back is recorded as a shortfall.
 * - No balance grows past what a GraphQL Int can carry: a wallet grant that would is refused.
 * - Idempotency keys of one consumption batch are scoped by an encoding of (account, key) that cannot collide.
 * - A grant's remaining credits are checked against zero again, not only against its amount.
 *
 * credits_consume_batch, credits_capture and credits_capture_whole are restated whole, as CREATE OR REPLACE needs;
 * each differs from its earlier body only in what is listed above.
 */
export class NoCreditGivenAway1795258801000 implements MigrationInterface {
  name = 'NoCreditGivenAway1795258801000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE credit_grants DROP CONSTRAINT credit_grants_remaining_check;
      ALTER TABLE credit_grants ADD CONSTRAINT credit_grants_remaining_check CHECK (remaining >= 0 AND remaining <= amount);

      CREATE TABLE credit_shortfalls (
        id           bigserial PRIMARY KEY,
        account_id   text NOT NULL REFERENCES accounts (id),
        pool         ledger_pool NOT NULL,
        charge_type  credit_type,
        amount       credit_positive NOT NULL,
        reason       text NOT NULL CHECK (reason IN ('CLAWBACK', 'LATE_CAPTURE')),
        reference    text,
        description  text,
        created_at   timestamptz NOT NULL DEFAULT now()
      );
      COMMENT ON TABLE credit_shortfalls IS
        'credits owed to the service that the ledger could not take: a refund after they were spent, a capture after its hold was swept';
      CREATE INDEX credit_shortfalls_account_idx ON credit_shortfalls (account_id, created_at);
    `);
    await queryRunner.query(`
-- Adds a grant once per source key. Returns {created, grantId, transactionId, accountId, pool, amount}; a source
-- key seen before returns the first grant with created = false. A wallet grant that would take the wallet past
-- what a GraphQL Int can show (with room for the largest allowance on top, as "remaining" adds both) is refused:
-- {created: false, refused: 'BALANCE_LIMIT', balance, maxBalance}, and nothing changes.
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
  RETURN jsonb_build_object('created', true, 'grantId', v_grant, 'transactionId', v_transaction,
                            'accountId', p_account, 'pool', p_pool, 'amount', p_amount);
END $$;

-- Takes up to p_max credits back from the wallet (a refunded or disputed purchase): first from the purchase's own
-- grant p_grant, then from the other wallet grants in spending order, never below zero. Credits are fungible, so
-- a purchase spent first does not shield one bought later. Whatever cannot be taken back is recorded in
-- credit_shortfalls. Returns {taken, shortfall}.
CREATE FUNCTION credits_claw_back(
  p_account text, p_grant uuid, p_max bigint, p_reference text, p_description text, p_now timestamptz
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_need bigint := p_max;
  v_grant record;
  v_take bigint;
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
  IF v_need > 0 THEN
    INSERT INTO credit_shortfalls (account_id, pool, amount, reason, reference, description, created_at)
    VALUES (p_account, 'WALLET', v_need, 'CLAWBACK', p_reference, p_description, p_now);
  END IF;
  RETURN jsonb_build_object('taken', p_max - v_need, 'shortfall', v_need);
END $$;

-- Keeps the holds of requests still running on a live instance from being swept: each pending one expires no
-- sooner than p_until. Returns how many were extended.
CREATE FUNCTION credits_extend_holds(p_holds uuid[], p_until timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_count integer;
BEGIN
  UPDATE credit_holds SET expires_at = p_until
   WHERE id = ANY (p_holds) AND status = 'PENDING' AND expires_at < p_until;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END $$;

CREATE OR REPLACE FUNCTION credits_consume_batch(
  p_accounts text[], p_types text[], p_amounts bigint[], p_rates bigint[], p_keys text[], p_hashes text[],
  p_descriptions text[], p_now timestamptz
) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  c_pools constant text[] := ARRAY['INTEGRATION', 'MESSAGE', 'WALLET'];
  n integer := cardinality(p_accounts);
  v_results jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
  a_id text[]; a_current boolean[]; a_plan text[]; a_plan_name text[]; a_period_start timestamptz[];
  a_message_limit bigint[]; a_integration_limit bigint[]; a_first integer[]; v_live text[];
  b_key text[]; b_account text[]; b_pool text[]; b_balance bigint[]; b_start bigint[];
  g_key text[]; g_id uuid[]; g_left bigint[]; g_start bigint[]; v_expired boolean;
  e_key text[]; e_result jsonb[]; e_hash text[];
  t_account text[] := '{}'; t_pool text[] := '{}'; t_type text[] := '{}'; t_grant uuid[] := '{}';
  t_amount bigint[] := '{}'; t_after bigint[] := '{}'; t_desc text[] := '{}'; t integer := 0;
  u_index integer[] := '{}'; u_allowance bigint[] := '{}'; u_wallet bigint[] := '{}'; u_remaining bigint[] := '{}';
  u integer := 0;
  v_seen jsonb := '{}';
  i integer; v_a integer; v_b integer; v_w integer; v_g integer; v_pool integer; v_source integer;
  v_units bigint; v_need bigint; v_take bigint; v_from_allowance bigint; v_from_wallet bigint; v_remaining bigint;
  v_limit bigint; v_alerts jsonb; v_grant record; v_idem text; v_found integer; v_keyed boolean;
BEGIN
  SELECT array_agg(a.id), array_agg(a.current_period_end > p_now), array_agg(a.plan_code), array_agg(p.name),
         array_agg(a.current_period_start), array_agg(p.message_limit::bigint), array_agg(p.integration_limit::bigint),
         array_agg(a.id) FILTER (WHERE a.current_period_end > p_now)
    INTO a_id, a_current, a_plan, a_plan_name, a_period_start, a_message_limit, a_integration_limit, v_live
    FROM accounts a JOIN plans p ON p.code = a.plan_code
   WHERE a.id = ANY (p_accounts);
  a_id := coalesce(a_id, '{}');
  v_live := coalesce(v_live, '{}');
  a_first := array_fill(NULL::integer, ARRAY[greatest(cardinality(a_id), 1)]);

  -- Locks in one statement, in one order (account, then pool), so concurrent batches queue instead of deadlocking.
  WITH locked AS (
    SELECT account_id, pool, balance FROM credit_balances
     WHERE account_id = ANY (v_live) AND pool = ANY (c_pools) ORDER BY account_id, pool FOR UPDATE)
  SELECT array_agg(char_length(account_id) || ':' || account_id || '|' || pool ORDER BY account_id, pool), array_agg(account_id ORDER BY account_id, pool),
         array_agg(pool ORDER BY account_id, pool), array_agg(balance ORDER BY account_id, pool)
    INTO b_key, b_account, b_pool, b_balance FROM locked;
  SELECT array_agg(char_length(account_id) || ':' || account_id || '|' || pool ORDER BY account_id, pool, rank), array_agg(id ORDER BY account_id, pool, rank),
         array_agg(remaining ORDER BY account_id, pool, rank), bool_or(expires_at <= p_now)
    INTO g_key, g_id, g_left, v_expired
    FROM (SELECT id, account_id, pool, remaining, expires_at,
                 row_number() OVER (PARTITION BY account_id, pool ORDER BY
                   CASE WHEN pool = 'WALLET' THEN -priority ELSE 0 END, expires_at NULLS LAST, priority DESC,
                   created_at, id) AS rank
            FROM credit_grants
           WHERE account_id = ANY (v_live) AND pool = ANY (c_pools) AND remaining > 0) g;
  IF v_expired THEN
    FOR v_grant IN
      SELECT id, account_id, pool, remaining FROM credit_grants
       WHERE account_id = ANY (v_live) AND pool = ANY (c_pools) AND remaining > 0 AND expires_at <= p_now
    LOOP
      PERFORM credits_post(v_grant.account_id, 'EXPIRE', v_grant.pool, NULL, v_grant.id, NULL, -v_grant.remaining, 0,
                           NULL, 'expired', p_now);
    END LOOP;
    SELECT array_agg(balance ORDER BY account_id, pool) INTO b_balance
      FROM credit_balances WHERE account_id = ANY (v_live) AND pool = ANY (c_pools);
    SELECT array_agg(char_length(account_id) || ':' || account_id || '|' || pool ORDER BY account_id, pool, rank), array_agg(id ORDER BY account_id, pool, rank),
           array_agg(remaining ORDER BY account_id, pool, rank)
      INTO g_key, g_id, g_left
      FROM (SELECT id, account_id, pool, remaining,
                   row_number() OVER (PARTITION BY account_id, pool ORDER BY
                     CASE WHEN pool = 'WALLET' THEN -priority ELSE 0 END, expires_at NULLS LAST, priority DESC,
                     created_at, id) AS rank
              FROM credit_grants
             WHERE account_id = ANY (v_live) AND pool = ANY (c_pools) AND remaining > 0) g;
  END IF;
  b_start := b_balance;
  g_start := g_left;

  v_keyed := cardinality(array_remove(p_keys, NULL)) > 0;
  IF v_keyed THEN
    SELECT array_agg(char_length(u.account_id) || ':' || u.account_id || '|' || u.idempotency_key), array_agg(u.request_hash),
           array_agg(jsonb_build_object('status', 'OK', 'replayed', true, 'charges', jsonb_build_array(jsonb_build_object(
             'type', u.credit_type, 'amount', u.amount, 'fromAllowance', u.from_allowance, 'fromWallet', u.from_wallet,
             'remaining', u.remaining_after))))
      INTO e_key, e_hash, e_result
      FROM credit_usage u
      JOIN unnest(p_accounts, p_keys) AS k(account_id, idempotency_key)
        ON u.account_id = k.account_id AND u.idempotency_key = k.idempotency_key;
  END IF;

  FOR i IN 1 .. n LOOP
    v_a := array_position(a_id, p_accounts[i]);
    IF v_a IS NULL OR NOT a_current[v_a] THEN
      v_results[i] := jsonb_build_object('status', CASE WHEN v_a IS NULL THEN 'NO_ACCOUNT' ELSE 'RENEW' END);
      CONTINUE;
    END IF;

    IF v_keyed AND p_keys[i] IS NOT NULL THEN
      v_idem := char_length(p_accounts[i]) || ':' || p_accounts[i] || '|' || p_keys[i];
      IF v_seen ? v_idem THEN
        v_found := (v_seen->>v_idem)::integer;
        v_results[i] := CASE WHEN p_hashes[v_found] IS DISTINCT FROM p_hashes[i]
          THEN jsonb_build_object('status', 'IDEMPOTENCY_CONFLICT')
          ELSE v_results[v_found] || jsonb_build_object('replayed', true) END;
        CONTINUE;
      END IF;
      v_found := array_position(e_key, v_idem);
      IF v_found IS NOT NULL THEN
        v_results[i] := CASE WHEN e_hash[v_found] IS DISTINCT FROM p_hashes[i]
          THEN jsonb_build_object('status', 'IDEMPOTENCY_CONFLICT') ELSE e_result[v_found] END;
        CONTINUE;
      END IF;
      v_seen := v_seen || jsonb_build_object(v_idem, i);
    END IF;

    v_b := array_position(b_key, char_length(p_accounts[i]) || ':' || p_accounts[i] || '|' || p_types[i]);
    v_w := array_position(b_key, char_length(p_accounts[i]) || ':' || p_accounts[i] || '|WALLET');
    v_units := greatest(p_amounts[i] - b_balance[v_b], 0);
    IF v_units > 0 AND (p_rates[i] = 0 OR v_units * p_rates[i] > b_balance[v_w]) THEN
      v_results[i] := jsonb_build_object('status', 'REFUSED', 'creditType', p_types[i], 'required', p_amounts[i],
        'available', b_balance[v_b] + CASE WHEN p_rates[i] > 0 THEN b_balance[v_w] / p_rates[i] ELSE 0 END,
        'limit', CASE p_types[i] WHEN 'MESSAGE' THEN a_message_limit[v_a] ELSE a_integration_limit[v_a] END,
        'planCode', a_plan[v_a], 'planName', a_plan_name[v_a]);
      CONTINUE;
    END IF;

    v_from_allowance := p_amounts[i] - v_units;
    v_from_wallet := v_units * p_rates[i];
    FOREACH v_pool IN ARRAY ARRAY[v_b, v_w] LOOP
      v_need := CASE WHEN v_pool = v_w THEN v_from_wallet ELSE v_from_allowance END;
      CONTINUE WHEN v_need = 0;
      v_g := array_position(g_key, b_key[v_pool]);
      WHILE v_need > 0 AND v_g IS NOT NULL AND g_key[v_g] = b_key[v_pool] LOOP
        IF g_left[v_g] > 0 THEN
          v_take := least(v_need, g_left[v_g]);
          g_left[v_g] := g_left[v_g] - v_take;
          b_balance[v_pool] := b_balance[v_pool] - v_take;
          v_need := v_need - v_take;
          t := t + 1;
          t_account[t] := p_accounts[i];
          t_pool[t] := b_pool[v_pool];
          t_type[t] := p_types[i];
          t_grant[t] := g_id[v_g];
          t_amount[t] := -v_take;
          t_after[t] := b_balance[v_pool];
          t_desc[t] := p_descriptions[i];
        END IF;
        v_g := v_g + 1;
      END LOOP;
      IF v_need > 0 THEN
        RAISE EXCEPTION 'ledger mismatch: the cached balances of account % do not match its grants', p_accounts[i];
      END IF;
    END LOOP;

    v_remaining := b_balance[v_b] + CASE WHEN p_rates[i] > 0 THEN b_balance[v_w] / p_rates[i] ELSE 0 END;
    u := u + 1;
    u_index[u] := i;
    u_allowance[u] := v_from_allowance;
    u_wallet[u] := v_from_wallet;
    u_remaining[u] := v_remaining;
    v_results[i] := jsonb_build_object('status', 'OK', 'replayed', false, 'charges', jsonb_build_array(
      jsonb_build_object('type', p_types[i], 'amount', p_amounts[i], 'fromAllowance', v_from_allowance,
                         'fromWallet', v_from_wallet, 'remaining', v_remaining)));
    a_first[v_a] := coalesce(a_first[v_a], i);
  END LOOP;

  IF t = 0 THEN RETURN to_jsonb(v_results); END IF;

  WITH grants AS (
    UPDATE credit_grants g SET remaining = d.remaining
      FROM unnest(g_id, g_left, g_start) AS d(id, remaining, before)
     WHERE g.id = d.id AND d.remaining <> d.before),
  balances AS (
    UPDATE credit_balances b SET balance = d.balance, updated_at = p_now
      FROM unnest(b_account, b_pool, b_balance, b_start) AS d(account_id, pool, balance, before)
     WHERE b.account_id = d.account_id AND b.pool = d.pool AND d.balance <> d.before),
  movements AS (
    INSERT INTO credit_transactions
      (account_id, kind, pool, charge_type, grant_id, amount, balance_after, description, created_at)
    SELECT account_id, 'CONSUME', pool, charge_type, grant_id, amount, balance_after, description, p_now
      FROM unnest(t_account, t_pool, t_type, t_grant, t_amount, t_after, t_desc)
           AS r(account_id, pool, charge_type, grant_id, amount, balance_after, description))
  INSERT INTO credit_usage
    (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after, idempotency_key, request_hash,
     description, created_at)
  SELECT p_accounts[k], p_types[k], p_amounts[k], allowance, wallet, remaining, p_keys[k], p_hashes[k],
         p_descriptions[k], p_now
    FROM unnest(u_index, u_allowance, u_wallet, u_remaining) AS x(k, allowance, wallet, remaining);

  FOR v_b IN 1 .. cardinality(b_key) LOOP
    CONTINUE WHEN b_pool[v_b] = 'WALLET' OR b_balance[v_b] = b_start[v_b];
    v_a := array_position(a_id, b_account[v_b]);
    v_limit := CASE b_pool[v_b] WHEN 'MESSAGE' THEN a_message_limit[v_a] ELSE a_integration_limit[v_a] END;
    CONTINUE WHEN (v_limit - b_start[v_b]) * 100 >= v_limit * 100
               OR (v_limit - b_balance[v_b]) * 100 < v_limit * 80;
    v_alerts := credits_record_alerts(b_account[v_b], b_pool[v_b], a_period_start[v_a], v_limit,
                                      v_limit - b_start[v_b], v_limit - b_balance[v_b], p_now);
    IF jsonb_array_length(v_alerts) > 0 THEN
      v_source := a_first[v_a];
      v_results[v_source] := v_results[v_source] || jsonb_build_object('alerts',
        coalesce(v_results[v_source]->'alerts', '[]'::jsonb) || v_alerts);
    END IF;
  END LOOP;
  RETURN to_jsonb(v_results);
END $$;

CREATE OR REPLACE FUNCTION credits_capture(
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
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION credits_extend_holds(uuid[], timestamptz);
      DROP FUNCTION credits_claw_back(text, uuid, bigint, text, text, timestamptz);
      DROP TABLE credit_shortfalls;
      ALTER TABLE credit_grants DROP CONSTRAINT credit_grants_remaining_check;
      ALTER TABLE credit_grants ADD CONSTRAINT credit_grants_remaining_check CHECK (remaining <= amount);
    `);
    // credits_grant, credits_consume_batch, credits_capture and credits_capture_whole keep their new bodies: they
    // answer every request the earlier ones answered alike, except the ones those got wrong.
  }
}
