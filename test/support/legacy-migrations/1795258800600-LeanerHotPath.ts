import { MigrationInterface, QueryRunner } from 'typeorm';
import { ConsumeBatch1795258800500 } from './1795258800500-ConsumeBatch';

/** The ledger functions every metered request runs; see the migration's comments for what each change saves. */
const HOT_FUNCTIONS = [
  'credits_charge(text, text, jsonb, timestamptz, integer, text, text, text)',
  'credits_capture(text, uuid, jsonb, timestamptz, jsonb)',
  'credits_release(text, uuid, text, timestamptz)',
];

/**
 * A cheaper metering hot path, with the same answers and the same ledger rows.
 *
 * - Plans: PL/pgSQL re-plans a query with a custom plan on every call when it guesses that beats the cached
 *   generic plan, which it does for every `= ANY (array)` lookup here. The ledger's queries are all keyed
 *   lookups whose generic plan is the right one, so the hot functions are told to keep it.
 * - credits_consume_batch takes its requests as arrays instead of a JSON document and does its reading in three
 *   statements (accounts; the pool rows, locked and read at once; the spendable grants) and its writing in one.
 * - Grant updates can be HOT: no index covers `remaining` any more (the spendable-grants index is replaced by the
 *   account index every lookup already matches), and credit_grants leaves room on its pages for new versions.
 * - Usage rows without an idempotency key no longer enter the key's unique index.
 * - A guarded operation's usual hold (one MESSAGE or INTEGRATION charge) and its whole capture have functions of
 *   their own, credits_hold and credits_capture_whole: a third of the statements of the general ones, which they
 *   hand over to for anything else. credit_holds loses its foreign key, whose check locked the account row on
 *   every hold.
 */
export class LeanerHotPath1795258800600 implements MigrationInterface {
  name = 'LeanerHotPath1795258800600';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX credit_grants_spendable_idx;
      ALTER TABLE credit_grants SET (fillfactor = 80);
      ALTER TABLE credit_usage DROP CONSTRAINT credit_usage_account_id_idempotency_key_key;
      CREATE UNIQUE INDEX credit_usage_idempotency_idx ON credit_usage (account_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
      DROP FUNCTION credits_consume_batch(jsonb, timestamptz);
      -- Like credit_transactions, holds are written on every guarded request; every hold is created by a ledger
      -- function for an account it has just read, and reconciliation checks them.
      ALTER TABLE credit_holds DROP CONSTRAINT credit_holds_account_id_fkey;
    `);
    for (const fn of HOT_FUNCTIONS) await queryRunner.query(`ALTER FUNCTION ${fn} SET plan_cache_mode = force_generic_plan`);
    await queryRunner.query(`
-- Many MESSAGE / INTEGRATION consumptions, of one account or many, in one transaction: request i is
-- (p_accounts[i], p_types[i], p_amounts[i], p_rates[i] wallet credits per unit, p_keys[i] idempotency key or null,
-- p_hashes[i], p_descriptions[i]). Answers one result per request, in order, shaped like credits_charge's:
-- {status: OK | REFUSED | RENEW | NO_ACCOUNT | IDEMPOTENCY_CONFLICT, ...}. RENEW and NO_ACCOUNT are left to the
-- caller (create or renew the account, then charge one by one); nothing was changed for them.
CREATE FUNCTION credits_consume_batch(
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
  SELECT array_agg(account_id || '|' || pool ORDER BY account_id, pool), array_agg(account_id ORDER BY account_id, pool),
         array_agg(pool ORDER BY account_id, pool), array_agg(balance ORDER BY account_id, pool)
    INTO b_key, b_account, b_pool, b_balance FROM locked;
  SELECT array_agg(account_id || '|' || pool ORDER BY account_id, pool, rank), array_agg(id ORDER BY account_id, pool, rank),
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
    SELECT array_agg(account_id || '|' || pool ORDER BY account_id, pool, rank), array_agg(id ORDER BY account_id, pool, rank),
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
    SELECT array_agg(u.account_id || '|' || u.idempotency_key), array_agg(u.request_hash),
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
      v_idem := p_accounts[i] || '|' || p_keys[i];
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

    v_b := array_position(b_key, p_accounts[i] || '|' || p_types[i]);
    v_w := array_position(b_key, p_accounts[i] || '|WALLET');
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

-- A hold of one MESSAGE or INTEGRATION charge, the common case of a guarded operation, in five statements. It
-- answers and writes exactly what credits_charge(p_account, 'HOLD', [{type, amount, walletRate}], ...) would, and
-- hands over to it for an idempotency key and when a grant has lapsed.
CREATE FUNCTION credits_hold(
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
  END LOOP;
  IF v_need_allowance > 0 OR v_need_wallet > 0 THEN
    RAISE EXCEPTION 'ledger mismatch: the cached balances of account % do not match its grants', p_account;
  END IF;

  WITH grants AS (
    UPDATE credit_grants g SET remaining = g.remaining - d.amount
      FROM unnest(t_grant, t_amount) AS d(id, amount)
     WHERE g.id = d.id),
  balances AS (
    UPDATE credit_balances b SET balance = b.balance - d.amount, held = b.held + d.amount, updated_at = p_now
      FROM (SELECT pool, sum(amount)::bigint AS amount FROM unnest(t_pool, t_amount) AS x(pool, amount) GROUP BY pool) d
     WHERE b.account_id = p_account AND b.pool = d.pool),
  movements AS (
    INSERT INTO credit_transactions
      (account_id, kind, pool, charge_type, grant_id, hold_id, amount, balance_after, description, created_at)
    SELECT p_account, 'HOLD', pool, p_type, grant_id, v_hold, -amount, after, p_description, p_now
      FROM unnest(t_pool, t_grant, t_amount, t_after) WITH ORDINALITY AS x(pool, grant_id, amount, after, n)
     ORDER BY n)
  INSERT INTO credit_holds (id, account_id, status, charges, allocations, idempotency_key, request_hash,
                            description, expires_at, created_at)
  SELECT v_hold, p_account, 'PENDING', v_charges,
         jsonb_agg(jsonb_build_object('pool', pool, 'type', p_type, 'grant', grant_id, 'amount', amount) ORDER BY n),
         p_idempotency_key, p_request_hash, p_description, p_now + make_interval(secs => p_hold_ttl_seconds), p_now
    FROM unnest(t_pool, t_grant, t_amount) WITH ORDINALITY AS x(pool, grant_id, amount, n);

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

-- Captures a pending hold of one MESSAGE or INTEGRATION charge whole (nothing reported lower), in four statements:
-- exactly what credits_capture(p_account, p_hold, '{}', p_now, p_result) does, which answers every other case.
CREATE FUNCTION credits_capture_whole(p_account text, p_hold uuid, p_now timestamptz, p_result jsonb)
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
  SELECT coalesce(sum(amount) FILTER (WHERE pool <> 'WALLET'), 0), coalesce(sum(amount) FILTER (WHERE pool = 'WALLET'), 0)
    INTO v_from_allowance, v_from_wallet
    FROM jsonb_to_recordset(v_hold.allocations) AS a(pool text, amount bigint);
  v_results := jsonb_build_array(jsonb_build_object('type', v_type, 'amount', v_amount,
    'fromAllowance', v_from_allowance, 'fromWallet', v_from_wallet,
    'remaining', v_balance + CASE WHEN v_rate > 0 THEN v_wallet / v_rate ELSE 0 END));

  -- What was held is spent: it leaves held. No ledger row: the HOLD rows took it.
  WITH spent AS (
    UPDATE credit_balances b SET held = b.held - d.amount, updated_at = p_now
      FROM (SELECT pool, sum(amount)::bigint AS amount
              FROM jsonb_to_recordset(v_hold.allocations) AS a(pool text, amount bigint) GROUP BY pool) d
     WHERE b.account_id = p_account AND b.pool = d.pool),
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
      DROP FUNCTION credits_capture_whole(text, uuid, timestamptz, jsonb);
      DROP FUNCTION credits_hold(text, text, bigint, bigint, timestamptz, integer, text, text, text);
      DROP FUNCTION credits_consume_batch(text[], text[], bigint[], bigint[], text[], text[], text[], timestamptz);
      ALTER TABLE credit_holds ADD CONSTRAINT credit_holds_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
      DROP INDEX credit_usage_idempotency_idx;
      ALTER TABLE credit_usage ADD CONSTRAINT credit_usage_account_id_idempotency_key_key
        UNIQUE (account_id, idempotency_key);
      ALTER TABLE credit_grants RESET (fillfactor);
      CREATE INDEX credit_grants_spendable_idx ON credit_grants (account_id, pool) WHERE remaining > 0;
    `);
    for (const fn of HOT_FUNCTIONS) await queryRunner.query(`ALTER FUNCTION ${fn} RESET plan_cache_mode`);
    await new ConsumeBatch1795258800500().up(queryRunner);
  }
}
