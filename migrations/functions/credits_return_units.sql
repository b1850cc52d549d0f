-- Gives quota units in use back (a deleted project). Refuses to go below zero. Returns the units given back.
-- Locks: the quota pool p_type (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_return_units(p_account text, p_type text, p_amount bigint, p_reference text, p_description text, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_in_use bigint;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY[p_type]);
  SELECT balance INTO v_in_use FROM credit_balances WHERE account_id = p_account AND pool = p_type;
  IF v_in_use IS NULL OR v_in_use < p_amount THEN
    RAISE EXCEPTION 'account % has only % % units in use, cannot return %', p_account, v_in_use, p_type, p_amount;
  END IF;
  RETURN credits_post(p_account, 'REFUND', p_type, p_type, NULL, NULL, p_amount, 0, p_reference, p_description, p_now);
END $function$;
