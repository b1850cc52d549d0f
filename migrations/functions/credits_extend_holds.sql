-- Keeps the holds of requests still running on a live instance from being swept: each pending one expires no
-- sooner than p_until. Returns how many were extended. Moves no credits.
-- Locks: the pending hold rows it updates.
CREATE OR REPLACE FUNCTION public.credits_extend_holds(p_holds uuid[], p_until timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_count integer;
BEGIN
  UPDATE credit_holds SET expires_at = p_until
   WHERE id = ANY (p_holds) AND status = 'PENDING' AND expires_at < p_until;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END $function$;
