-- Gives every allocation of a pending hold back and marks it RELEASED or EXPIRED. A hold already settled is
-- answered as it is (replayed), so a release is safe to repeat.
-- Locks: the hold row (FOR UPDATE), then its pools in the ledger's order.
CREATE OR REPLACE FUNCTION public.credits_release(p_account text, p_hold uuid, p_status text, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
  v_hold record;
  v_allocation jsonb;
  v_pools text[];
BEGIN
  IF p_status NOT IN ('RELEASED', 'EXPIRED') THEN RAISE EXCEPTION 'unknown release status %', p_status; END IF;
  SELECT id, status, allocations INTO v_hold FROM credit_holds
   WHERE id = p_hold AND account_id = p_account FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('status', 'NOT_FOUND'); END IF;
  IF v_hold.status <> 'PENDING' THEN
    RETURN jsonb_build_object('status', 'OK', 'holdStatus', v_hold.status, 'replayed', true);
  END IF;
  SELECT array_agg(DISTINCT a->>'pool' ORDER BY a->>'pool') INTO v_pools FROM jsonb_array_elements(v_hold.allocations) a;
  PERFORM credits_lock_pools(p_account, v_pools);
  FOR v_allocation IN SELECT value FROM jsonb_array_elements(v_hold.allocations) LOOP
    PERFORM credits_return_allocation(p_account, v_allocation, p_hold, (v_allocation->>'amount')::bigint,
      CASE WHEN p_status = 'EXPIRED' THEN 'hold expired' ELSE 'hold released' END, p_now);
  END LOOP;
  UPDATE credit_holds SET status = p_status, settled_at = p_now WHERE id = p_hold;
  RETURN jsonb_build_object('status', 'OK', 'holdStatus', p_status, 'replayed', false);
END $function$;
