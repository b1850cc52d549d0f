-- What is left to pay for one more charge of a type, read from the (locked) pools: see credits_available.
-- PROJECT: the free quota units, null when unlimited. Reads only; stable.
-- Locks: none. Exact only while the caller holds the pools (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_remaining(p_account text, p_type text, p_wallet_rate bigint, p_project_limit integer)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
AS $function$
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
  END IF;
  RETURN credits_available(v_balance, v_wallet, p_wallet_rate);
END $function$;
