-- Gives a held allocation back. Credits whose grant expired meanwhile come back and expire at once, so the ledger
-- shows where they went; what the pool owes is paid out of what came back (credits_collect_owed).
-- Locks: none; the caller holds the pool's lock.
CREATE OR REPLACE FUNCTION public.credits_return_allocation(p_account text, p_allocation jsonb, p_hold uuid, p_units bigint, p_description text, p_now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_pool text := p_allocation->>'pool';
  v_grant uuid := (p_allocation->>'grant')::uuid;
  v_expired boolean;
BEGIN
  IF p_units <= 0 THEN RETURN; END IF;
  PERFORM credits_post(p_account, 'RELEASE', v_pool, p_allocation->>'type', v_grant, p_hold, p_units, -p_units,
                       NULL, p_description, p_now);
  IF v_grant IS NOT NULL THEN
    SELECT expires_at <= p_now INTO v_expired FROM credit_grants WHERE id = v_grant;
    IF v_expired THEN
      PERFORM credits_post(p_account, 'EXPIRE', v_pool, NULL, v_grant, NULL, -p_units, 0, NULL,
                           'expired while held', p_now);
    ELSE
      PERFORM credits_collect_owed(p_account, v_pool, p_now);
    END IF;
  END IF;
END $function$;
