-- Expires grants of the given pools whose expiry has passed (an EXPIRE row each), so that the cached balance
-- only counts spendable credits.
-- Locks: none of its own. The caller holds the given pools.
CREATE OR REPLACE FUNCTION public.credits_expire_lapsed(p_account text, p_pools text[], p_now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT id, pool, remaining FROM credit_grants
     WHERE account_id = p_account AND pool = ANY (p_pools) AND remaining > 0 AND expires_at <= p_now
     ORDER BY pool, expires_at, id
  LOOP
    PERFORM credits_post(p_account, 'EXPIRE', v_grant.pool, NULL, v_grant.id, NULL, -v_grant.remaining, 0,
                         NULL, 'expired', p_now);
  END LOOP;
END $function$;
