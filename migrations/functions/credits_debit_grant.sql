-- Takes credits out of one grant (expiry, clawback, correction), at most p_max (null: all that remains), never
-- below zero, as one ledger row of kind p_kind. Returns the amount taken.
-- Locks: none of its own. The caller holds the grant's pool.
CREATE OR REPLACE FUNCTION public.credits_debit_grant(p_grant uuid, p_kind text, p_max bigint, p_reference text, p_description text, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_grant record;
  v_take bigint;
BEGIN
  SELECT account_id, pool, remaining INTO v_grant FROM credit_grants WHERE id = p_grant;
  v_take := least(v_grant.remaining, coalesce(p_max, v_grant.remaining));
  IF v_take > 0 THEN
    PERFORM credits_post(v_grant.account_id, p_kind, v_grant.pool, NULL, p_grant, NULL, -v_take, 0, p_reference,
                         p_description, p_now);
  END IF;
  RETURN v_take;
END $function$;
