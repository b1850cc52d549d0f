-- Adds a grant once per source key, spent with its kind's priority (credits_grant_priority). Returns {created, grantId, transactionId, accountId, pool, amount}; a source
-- key seen before returns the first grant with created = false. A wallet grant that would take the wallet past
-- what a GraphQL Int can show (with room for the largest allowance on top, as "remaining" adds both) is refused:
-- {created: false, refused: 'BALANCE_LIMIT', balance, maxBalance}, and nothing changes. New wallet credits pay
-- first what the wallet owes (credits_collect_owed).
-- Locks: the grant's pool (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_grant(p_account text, p_pool text, p_kind text, p_ledger_kind text, p_amount bigint, p_expires_at timestamp with time zone, p_period_start timestamp with time zone, p_source_key text, p_description text, p_reference text, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
    (p_account, p_pool, p_kind, p_amount, 0, credits_grant_priority(p_kind), p_expires_at, p_period_start, p_source_key,
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
  -- New wallet credits pay first what the wallet owes (a refund that met its credits held).
  IF p_pool = 'WALLET' THEN PERFORM credits_collect_owed(p_account, 'WALLET', p_now); END IF;
  RETURN jsonb_build_object('created', true, 'grantId', v_grant, 'transactionId', v_transaction,
                            'accountId', p_account, 'pool', p_pool, 'amount', p_amount);
END $function$;
