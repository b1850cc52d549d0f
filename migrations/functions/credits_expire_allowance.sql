-- Starting the period that begins at p_period_start: what is left of any other period's allowance expires
-- (EXPIRE rows), and nothing is owed on the new period's allowance. Wallet credits are never touched.
-- Locks: the MESSAGE and INTEGRATION pools, in the ledger's order (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_expire_allowance(p_account text, p_period_start timestamp with time zone, p_now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
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
  UPDATE credit_balances SET owed = 0
   WHERE account_id = p_account AND pool IN ('INTEGRATION', 'MESSAGE') AND owed > 0;
END $function$;
