-- Releases up to p_limit holds whose time ran out (status EXPIRED). Safe to run from many instances at once:
-- each claims different holds (SKIP LOCKED). Returns how many were released.
-- Locks: each hold row (FOR UPDATE SKIP LOCKED), then its pools through credits_release.
CREATE OR REPLACE FUNCTION public.credits_release_expired_holds(p_now timestamp with time zone, p_limit integer)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_hold record;
  v_count integer := 0;
BEGIN
  FOR v_hold IN
    SELECT id, account_id FROM credit_holds
     WHERE status = 'PENDING' AND expires_at <= p_now
     ORDER BY expires_at LIMIT p_limit
     FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM credits_release(v_hold.account_id, v_hold.id, 'EXPIRED', p_now);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $function$;
