-- One movement: the grant (if any), the pool's cached balance and one ledger row, together. For credit pools the
-- amount changes the available balance; for PROJECT a negative amount takes quota units (into held when
-- p_held_delta says so, else into use). Returns the ledger row id; balance_after is the exact running balance.
-- Locks: none of its own. The caller holds the pool's credit_balances row (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_post(p_account text, p_kind text, p_pool text, p_charge_type text, p_grant uuid, p_hold uuid, p_amount bigint, p_held_delta bigint, p_reference text, p_description text, p_now timestamp with time zone, p_transaction_id bigint DEFAULT NULL::bigint)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
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
END $function$;
