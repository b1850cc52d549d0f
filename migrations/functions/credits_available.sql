-- What is left to pay for charges of a type, the ledger's one definition of it: the type's allowance plus the
-- units the wallet covers at the type's rate (wallet credits per unit; 0: the wallet does not pay for the type).
-- Used for refusals ("available") and answers ("remaining") alike.
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credits_available(p_allowance bigint, p_wallet bigint, p_rate bigint)
 RETURNS bigint
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT p_allowance + CASE WHEN p_rate > 0 THEN p_wallet / p_rate ELSE 0 END
$function$;
