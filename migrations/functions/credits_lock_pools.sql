-- Locks an account's pool rows in the fixed order, so that concurrent writers queue instead of deadlocking.
-- Every change to a grant's remaining or a pool's balance / held happens while this lock is held.
-- Locks: pool rows of credit_balances in the ledger's order (INTEGRATION, MESSAGE, PROJECT, WALLET), after the
-- account row or a hold row when those are locked at all.
CREATE OR REPLACE FUNCTION public.credits_lock_pools(p_account text, p_pools text[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  PERFORM 1 FROM credit_balances WHERE account_id = p_account AND pool = ANY (p_pools) ORDER BY pool FOR UPDATE;
END $function$;
