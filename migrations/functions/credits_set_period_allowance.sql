-- Moves one pool's allowance of a period to p_target credits, what was used so far still counting. A raise is a
-- new ALLOWANCE grant of the difference (its source key is p_source_key and the period's grant count, so each
-- raise is made once); a cut takes back what is left above the target, never below zero, as ADJUST rows, and
-- records what it took; what is above the target but held by pending requests is owed, taken when it comes back
-- (credits_collect_owed). Returns the period's allowance afterwards (above the target when more than the target
-- is used already).
-- Locks: the caller holds the account row; the pool row is locked here, in the ledger's order.
CREATE OR REPLACE FUNCTION public.credits_set_period_allowance(p_account text, p_pool text, p_period_start timestamp with time zone, p_period_end timestamp with time zone, p_target bigint, p_source_key text, p_description text, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_granted bigint;
  v_grants integer;
  v_withheld bigint;
  v_allowance bigint;
  v_grant record;
  v_taken bigint := 0;
  v_owe bigint;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY[p_pool]);
  SELECT coalesce(sum(amount), 0), count(*) INTO v_granted, v_grants FROM credit_grants
   WHERE account_id = p_account AND pool = p_pool AND kind = 'ALLOWANCE' AND period_start = p_period_start;
  SELECT coalesce(sum(amount), 0) INTO v_withheld FROM allowance_withholdings
   WHERE account_id = p_account AND pool = p_pool AND period_start = p_period_start;
  v_allowance := v_granted - v_withheld;

  IF p_target > v_allowance THEN
    PERFORM credits_grant(p_account, p_pool, 'ALLOWANCE', 'GRANT', p_target - v_allowance, p_period_end,
                          p_period_start, p_source_key || ':' || v_grants, p_description, NULL, p_now);
    RETURN p_target;
  END IF;

  FOR v_grant IN
    SELECT id FROM credit_grants
     WHERE account_id = p_account AND pool = p_pool AND kind = 'ALLOWANCE' AND period_start = p_period_start
       AND remaining > 0
     ORDER BY created_at DESC, id
  LOOP
    EXIT WHEN v_allowance - v_taken <= p_target;
    v_taken := v_taken + credits_debit_grant(v_grant.id, 'ADJUST', v_allowance - v_taken - p_target, NULL,
                                             p_description, p_now);
  END LOOP;
  IF v_taken > 0 THEN
    INSERT INTO allowance_withholdings (account_id, pool, period_start, amount, created_at)
    VALUES (p_account, p_pool, p_period_start, v_taken, p_now);
  END IF;
  IF v_allowance - v_taken > p_target THEN
    SELECT least(v_allowance - v_taken - p_target, greatest(held - owed, 0)) INTO v_owe FROM credit_balances
     WHERE account_id = p_account AND pool = p_pool;
    IF v_owe > 0 THEN
      UPDATE credit_balances SET owed = owed + v_owe WHERE account_id = p_account AND pool = p_pool;
    END IF;
  END IF;
  RETURN v_allowance - v_taken;
END $function$;
