-- Takes up to p_max credits back from the wallet (a refunded or disputed purchase): first from the purchase's own
-- grant p_grant, then from the other spendable wallet grants in spending order, never below zero. Credits are
-- fungible, so a purchase spent first does not shield one bought later; credits of an expired grant are worth
-- nothing and are not counted as taken back. What pending requests hold is owed, taken when it comes back
-- (credits_collect_owed). Only what is neither left nor held is recorded in credit_shortfalls.
-- Returns {taken, owed, shortfall}.
-- Locks: the WALLET pool (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_claw_back(p_account text, p_grant uuid, p_max bigint, p_reference text, p_description text, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_need bigint := p_max;
  v_grant record;
  v_take bigint;
  v_owe bigint;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY['WALLET']);
  FOR v_grant IN
    SELECT id, remaining FROM credit_grants_in_spending_order
     WHERE account_id = p_account AND pool = 'WALLET' AND (expires_at IS NULL OR expires_at > p_now)
     ORDER BY id IS DISTINCT FROM p_grant, spending_rank
  LOOP
    EXIT WHEN v_need = 0;
    v_take := least(v_need, v_grant.remaining);
    PERFORM credits_post(p_account, 'CLAWBACK', 'WALLET', NULL, v_grant.id, NULL, -v_take, 0, p_reference,
                         p_description, p_now);
    v_need := v_need - v_take;
  END LOOP;
  SELECT least(v_need, greatest(held - owed, 0)) INTO v_owe FROM credit_balances
   WHERE account_id = p_account AND pool = 'WALLET';
  v_owe := coalesce(v_owe, 0);
  IF v_owe > 0 THEN
    UPDATE credit_balances SET owed = owed + v_owe WHERE account_id = p_account AND pool = 'WALLET';
  END IF;
  IF v_need - v_owe > 0 THEN
    INSERT INTO credit_shortfalls (account_id, pool, amount, reason, reference, description, created_at)
    VALUES (p_account, 'WALLET', v_need - v_owe, 'CLAWBACK', p_reference, p_description, p_now);
  END IF;
  RETURN jsonb_build_object('taken', p_max - v_need, 'owed', v_owe, 'shortfall', v_need - v_owe);
END $function$;
