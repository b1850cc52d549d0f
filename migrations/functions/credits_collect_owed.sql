-- Takes what a pool owes back out of what it has: a refund (wallet) or an allowance cut that found its credits held
-- records them as owed (credit_balances.owed); when credits come back to the pool (a released hold, the unused part
-- of a capture) or new wallet credits arrive, this takes them, the wallet's as CLAWBACK rows, an allowance's as
-- ADJUST rows recorded as withheld from the grant's period. Never below zero. Returns the amount collected.
-- Locks: none; the caller holds the pool's lock.
CREATE OR REPLACE FUNCTION public.credits_collect_owed(p_account text, p_pool text, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_owed bigint;
  v_grant record;
  v_take bigint;
  v_collected bigint := 0;
BEGIN
  SELECT owed INTO v_owed FROM credit_balances WHERE account_id = p_account AND pool = p_pool;
  IF coalesce(v_owed, 0) = 0 THEN RETURN 0; END IF;
  FOR v_grant IN
    SELECT id, remaining, period_start FROM credit_grants_in_spending_order
     WHERE account_id = p_account AND pool = p_pool AND (expires_at IS NULL OR expires_at > p_now)
     ORDER BY spending_rank
  LOOP
    EXIT WHEN v_collected = v_owed;
    v_take := least(v_owed - v_collected, v_grant.remaining);
    IF p_pool = 'WALLET' THEN
      PERFORM credits_post(p_account, 'CLAWBACK', p_pool, NULL, v_grant.id, NULL, -v_take, 0, NULL,
                           'refunded credits that were held', p_now);
    ELSE
      PERFORM credits_post(p_account, 'ADJUST', p_pool, NULL, v_grant.id, NULL, -v_take, 0, NULL,
                           'allowance above the plan''s limit that was held', p_now);
      INSERT INTO allowance_withholdings (account_id, pool, period_start, amount, created_at)
      VALUES (p_account, p_pool, v_grant.period_start, v_take, p_now);
    END IF;
    v_collected := v_collected + v_take;
  END LOOP;
  IF v_collected > 0 THEN
    UPDATE credit_balances SET owed = owed - v_collected WHERE account_id = p_account AND pool = p_pool;
  END IF;
  RETURN v_collected;
END $function$;
