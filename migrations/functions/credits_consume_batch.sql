-- Many MESSAGE / INTEGRATION consumptions, of one account or many, in one transaction: request i is
-- (p_accounts[i], p_types[i], p_amounts[i], p_rates[i] wallet credits per unit, p_keys[i] idempotency key or null,
-- p_hashes[i], p_descriptions[i]). Answers one result per request, in order, each what credits_charge('CONSUME')
-- would answer alone: {status: OK | REFUSED | RENEW | NO_ACCOUNT | IDEMPOTENCY_CONFLICT, ...}. RENEW and
-- NO_ACCOUNT are left to the caller (create or renew the account, then charge one by one); nothing was changed
-- for them.
-- The wallet credits of every usage record written here also count into the WALLET row's total_used, in the same
-- update of that row (see credits_count_wallet_totals).
-- Locks: the accounts' pool rows in one statement, ordered by account then pool, so concurrent batches queue.
CREATE OR REPLACE FUNCTION public.credits_consume_batch(p_accounts text[], p_types text[], p_amounts bigint[], p_rates bigint[], p_keys text[], p_hashes text[], p_descriptions text[], p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
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
    FROM (SELECT id, account_id, pool, remaining, expires_at, spending_rank AS rank
            FROM credit_grants_in_spending_order
           WHERE account_id = ANY (v_live) AND pool = ANY (c_pools)) g;
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
      FROM (SELECT id, account_id, pool, remaining, spending_rank AS rank
              FROM credit_grants_in_spending_order
             WHERE account_id = ANY (v_live) AND pool = ANY (c_pools)) g;
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
        'available', credits_available(b_balance[v_b], b_balance[v_w], p_rates[i]),
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

    v_remaining := credits_available(b_balance[v_b], b_balance[v_w], p_rates[i]);
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
    UPDATE credit_balances b
       SET balance = d.balance, updated_at = p_now,
           total_used = b.total_used + CASE WHEN b.pool = 'WALLET' THEN d.before - d.balance ELSE 0 END
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
    CONTINUE WHEN NOT credits_crosses_alert(v_limit, v_limit - b_start[v_b], v_limit - b_balance[v_b]);
    v_alerts := credits_record_alerts(b_account[v_b], b_pool[v_b], a_period_start[v_a], v_limit,
                                      v_limit - b_start[v_b], v_limit - b_balance[v_b], p_now);
    IF jsonb_array_length(v_alerts) > 0 THEN
      v_source := a_first[v_a];
      v_results[v_source] := v_results[v_source] || jsonb_build_object('alerts',
        coalesce(v_results[v_source]->'alerts', '[]'::jsonb) || v_alerts);
    END IF;
  END LOOP;
  RETURN to_jsonb(v_results);
END $function$;
