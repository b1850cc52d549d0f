import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Group commit for the metering hot path: many MESSAGE / INTEGRATION consumptions, of one account or many, settled
 * in one transaction and one round trip, with the answers and rows credits_charge would give each one (its own
 * result, ledger rows and usage record; refusals change nothing). Every table is read and written with one
 * set-based statement per batch, so a charge costs little more than its rows.
 */
export class ConsumeBatch1795258800500 implements MigrationInterface {
  name = 'ConsumeBatch1795258800500';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
-- p_requests: [{"account", "type" (MESSAGE | INTEGRATION), "amount", "walletRate", "key", "hash", "description"}].
-- Answers one result per request, in order, shaped like credits_charge's:
-- {status: OK | REFUSED | RENEW | NO_ACCOUNT | IDEMPOTENCY_CONFLICT, ...}. RENEW and NO_ACCOUNT are left to the
-- caller (create or renew the account, then charge one by one); nothing was changed for them.
CREATE FUNCTION credits_consume_batch(p_requests jsonb, p_now timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  c_pools constant text[] := ARRAY['INTEGRATION', 'MESSAGE', 'WALLET'];
  n integer := jsonb_array_length(p_requests);
  v_results jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
  -- requests
  r_account text[]; r_type text[]; r_amount bigint[]; r_rate bigint[]; r_key text[]; r_hash text[]; r_desc text[];
  -- accounts that can be charged now
  a_id text[]; a_plan text[]; a_plan_name text[]; a_period_start timestamptz[]; a_message_limit bigint[];
  a_integration_limit bigint[]; a_first integer[];
  v_missing text[]; v_ended text[];
  -- balances, keyed "account|pool"
  b_key text[]; b_account text[]; b_pool text[]; b_balance bigint[]; b_start bigint[];
  -- spendable grants in spending order, keyed "account|pool"
  g_key text[]; g_id uuid[]; g_left bigint[]; g_start bigint[];
  -- earlier usage of the batch's idempotency keys, keyed "account|key"
  e_key text[]; e_result jsonb[]; e_hash text[];
  -- rows to write
  t_account text[] := '{}'; t_pool text[] := '{}'; t_type text[] := '{}'; t_grant uuid[] := '{}';
  t_amount bigint[] := '{}'; t_after bigint[] := '{}'; t_desc text[] := '{}';
  u_account text[] := '{}'; u_type text[] := '{}'; u_amount bigint[] := '{}'; u_allowance bigint[] := '{}';
  u_wallet bigint[] := '{}'; u_remaining bigint[] := '{}'; u_key text[] := '{}'; u_hash text[] := '{}';
  u_desc text[] := '{}';
  v_seen jsonb := '{}';
  i integer; v_a integer; v_b integer; v_w integer; v_g integer; v_pool integer; v_source integer;
  v_units bigint; v_need bigint; v_take bigint; v_from_allowance bigint; v_from_wallet bigint; v_remaining bigint;
  v_limit bigint; v_alerts jsonb; v_grant record; v_idem text; v_found integer;
BEGIN
  SELECT array_agg(r->>'account' ORDER BY o), array_agg(r->>'type' ORDER BY o),
         array_agg((r->>'amount')::bigint ORDER BY o), array_agg(coalesce((r->>'walletRate')::bigint, 0) ORDER BY o),
         array_agg(r->>'key' ORDER BY o), array_agg(r->>'hash' ORDER BY o), array_agg(r->>'description' ORDER BY o)
    INTO r_account, r_type, r_amount, r_rate, r_key, r_hash, r_desc
    FROM jsonb_array_elements(p_requests) WITH ORDINALITY AS x(r, o);

  SELECT array_agg(a.id ORDER BY a.id), array_agg(a.plan_code ORDER BY a.id), array_agg(p.name ORDER BY a.id),
         array_agg(a.current_period_start ORDER BY a.id), array_agg(p.message_limit::bigint ORDER BY a.id),
         array_agg(p.integration_limit::bigint ORDER BY a.id)
    INTO a_id, a_plan, a_plan_name, a_period_start, a_message_limit, a_integration_limit
    FROM accounts a JOIN plans p ON p.code = a.plan_code
   WHERE a.id = ANY (r_account) AND a.current_period_end > p_now;
  a_id := coalesce(a_id, '{}');
  SELECT array_agg(id) INTO v_ended FROM accounts WHERE id = ANY (r_account) AND current_period_end <= p_now;
  a_first := array_fill(NULL::integer, ARRAY[greatest(coalesce(array_length(a_id, 1), 0), 1)]);

  -- Locks in one statement, in one order (account, then pool), so concurrent batches queue instead of deadlocking.
  PERFORM 1 FROM credit_balances WHERE account_id = ANY (a_id) AND pool = ANY (c_pools)
    ORDER BY account_id, pool FOR UPDATE;
  FOR v_grant IN
    SELECT id, account_id, pool, remaining FROM credit_grants
     WHERE account_id = ANY (a_id) AND pool = ANY (c_pools) AND remaining > 0 AND expires_at <= p_now
  LOOP
    PERFORM credits_post(v_grant.account_id, 'EXPIRE', v_grant.pool, NULL, v_grant.id, NULL, -v_grant.remaining, 0,
                         NULL, 'expired', p_now);
  END LOOP;

  SELECT array_agg(account_id || '|' || pool), array_agg(account_id), array_agg(pool), array_agg(balance),
         array_agg(balance)
    INTO b_key, b_account, b_pool, b_balance, b_start
    FROM credit_balances WHERE account_id = ANY (a_id) AND pool = ANY (c_pools);
  SELECT array_agg(account_id || '|' || pool ORDER BY account_id, pool, rank), array_agg(id ORDER BY account_id, pool, rank),
         array_agg(remaining ORDER BY account_id, pool, rank), array_agg(remaining ORDER BY account_id, pool, rank)
    INTO g_key, g_id, g_left, g_start
    FROM (SELECT id, account_id, pool, remaining,
                 row_number() OVER (PARTITION BY account_id, pool ORDER BY
                   CASE WHEN pool = 'WALLET' THEN -priority ELSE 0 END, expires_at NULLS LAST, priority DESC,
                   created_at, id) AS rank
            FROM credit_grants
           WHERE account_id = ANY (a_id) AND pool = ANY (c_pools) AND remaining > 0) g;
  SELECT array_agg(u.account_id || '|' || u.idempotency_key), array_agg(u.request_hash),
         array_agg(jsonb_build_object('status', 'OK', 'replayed', true, 'charges', jsonb_build_array(jsonb_build_object(
           'type', u.credit_type, 'amount', u.amount, 'fromAllowance', u.from_allowance, 'fromWallet', u.from_wallet,
           'remaining', u.remaining_after))))
    INTO e_key, e_hash, e_result
    FROM credit_usage u
    JOIN unnest(r_account, r_key) AS k(account_id, idempotency_key)
      ON u.account_id = k.account_id AND u.idempotency_key = k.idempotency_key;

  FOR i IN 1 .. n LOOP
    v_a := array_position(a_id, r_account[i]);
    IF v_a IS NULL THEN
      v_results[i] := jsonb_build_object('status',
        CASE WHEN r_account[i] = ANY (coalesce(v_ended, '{}')) THEN 'RENEW' ELSE 'NO_ACCOUNT' END);
      CONTINUE;
    END IF;

    IF r_key[i] IS NOT NULL THEN
      v_idem := r_account[i] || '|' || r_key[i];
      IF v_seen ? v_idem THEN
        v_found := (v_seen->>v_idem)::integer;
        v_results[i] := CASE WHEN r_hash[v_found] IS DISTINCT FROM r_hash[i]
          THEN jsonb_build_object('status', 'IDEMPOTENCY_CONFLICT')
          ELSE v_results[v_found] || jsonb_build_object('replayed', true) END;
        CONTINUE;
      END IF;
      v_found := array_position(e_key, v_idem);
      IF v_found IS NOT NULL THEN
        v_results[i] := CASE WHEN e_hash[v_found] IS DISTINCT FROM r_hash[i]
          THEN jsonb_build_object('status', 'IDEMPOTENCY_CONFLICT') ELSE e_result[v_found] END;
        CONTINUE;
      END IF;
      v_seen := v_seen || jsonb_build_object(v_idem, i);
    END IF;

    v_b := array_position(b_key, r_account[i] || '|' || r_type[i]);
    v_w := array_position(b_key, r_account[i] || '|WALLET');
    v_units := greatest(r_amount[i] - b_balance[v_b], 0);
    IF v_units > 0 AND (r_rate[i] = 0 OR v_units * r_rate[i] > b_balance[v_w]) THEN
      v_results[i] := jsonb_build_object('status', 'REFUSED', 'creditType', r_type[i], 'required', r_amount[i],
        'available', b_balance[v_b] + CASE WHEN r_rate[i] > 0 THEN b_balance[v_w] / r_rate[i] ELSE 0 END,
        'limit', CASE r_type[i] WHEN 'MESSAGE' THEN a_message_limit[v_a] ELSE a_integration_limit[v_a] END,
        'planCode', a_plan[v_a], 'planName', a_plan_name[v_a]);
      CONTINUE;
    END IF;

    v_from_allowance := r_amount[i] - v_units;
    v_from_wallet := v_units * r_rate[i];
    -- The type's allowance first, then the wallet, grant by grant in spending order.
    FOREACH v_pool IN ARRAY ARRAY[v_b, v_w] LOOP
      v_need := CASE WHEN v_pool = v_w THEN v_from_wallet ELSE v_from_allowance END;
      v_g := array_position(g_key, b_key[v_pool]);
      WHILE v_need > 0 AND v_g IS NOT NULL AND v_g <= array_length(g_key, 1) AND g_key[v_g] = b_key[v_pool] LOOP
        IF g_left[v_g] > 0 THEN
          v_take := least(v_need, g_left[v_g]);
          g_left[v_g] := g_left[v_g] - v_take;
          b_balance[v_pool] := b_balance[v_pool] - v_take;
          v_need := v_need - v_take;
          t_account := t_account || r_account[i];
          t_pool := t_pool || b_pool[v_pool];
          t_type := t_type || r_type[i];
          t_grant := t_grant || g_id[v_g];
          t_amount := t_amount || -v_take;
          t_after := t_after || b_balance[v_pool];
          t_desc := t_desc || r_desc[i];
        END IF;
        v_g := v_g + 1;
      END LOOP;
      IF v_need > 0 THEN
        RAISE EXCEPTION 'ledger mismatch: the cached balances of account % do not match its grants', r_account[i];
      END IF;
    END LOOP;

    v_remaining := b_balance[v_b] + CASE WHEN r_rate[i] > 0 THEN b_balance[v_w] / r_rate[i] ELSE 0 END;
    u_account := u_account || r_account[i];
    u_type := u_type || r_type[i];
    u_amount := u_amount || r_amount[i];
    u_allowance := u_allowance || v_from_allowance;
    u_wallet := u_wallet || v_from_wallet;
    u_remaining := u_remaining || v_remaining;
    u_key := u_key || r_key[i];
    u_hash := u_hash || r_hash[i];
    u_desc := u_desc || r_desc[i];
    v_results[i] := jsonb_build_object('status', 'OK', 'replayed', false, 'charges', jsonb_build_array(
      jsonb_build_object('type', r_type[i], 'amount', r_amount[i], 'fromAllowance', v_from_allowance,
                         'fromWallet', v_from_wallet, 'remaining', v_remaining)));
    a_first[v_a] := coalesce(a_first[v_a], i);
  END LOOP;

  IF coalesce(array_length(t_amount, 1), 0) = 0 THEN RETURN to_jsonb(v_results); END IF;

  UPDATE credit_grants g SET remaining = d.remaining
    FROM unnest(g_id, g_left, g_start) AS d(id, remaining, before)
   WHERE g.id = d.id AND d.remaining <> d.before;
  UPDATE credit_balances b SET balance = d.balance, updated_at = p_now
    FROM unnest(b_account, b_pool, b_balance, b_start) AS d(account_id, pool, balance, before)
   WHERE b.account_id = d.account_id AND b.pool = d.pool AND d.balance <> d.before;
  INSERT INTO credit_transactions
    (account_id, kind, pool, charge_type, grant_id, amount, balance_after, description, created_at)
  SELECT account_id, 'CONSUME', pool, charge_type, grant_id, amount, balance_after, description, p_now
    FROM unnest(t_account, t_pool, t_type, t_grant, t_amount, t_after, t_desc)
         AS r(account_id, pool, charge_type, grant_id, amount, balance_after, description);
  INSERT INTO credit_usage
    (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after, idempotency_key, request_hash,
     description, created_at)
  SELECT account_id, credit_type, amount, from_allowance, from_wallet, remaining_after, idempotency_key,
         request_hash, description, p_now
    FROM unnest(u_account, u_type, u_amount, u_allowance, u_wallet, u_remaining, u_key, u_hash, u_desc)
         AS u(account_id, credit_type, amount, from_allowance, from_wallet, remaining_after, idempotency_key,
              request_hash, description);

  -- Usage alerts crossed by the batch, once per account, type, period and threshold; they travel with the
  -- account's first result so that they are published once.
  FOR v_b IN 1 .. coalesce(array_length(b_key, 1), 0) LOOP
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
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION credits_consume_batch(jsonb, timestamptz);`);
  }
}
