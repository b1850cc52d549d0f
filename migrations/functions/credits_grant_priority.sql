-- The priority a grant of a kind is spent with, the ledger's own rule: in the wallet, promotional and admin credits
-- (20) go before purchased ones (10); an allowance has 0 (its grants are spent by expiry first, see the view
-- credit_grants_in_spending_order).
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credits_grant_priority(p_kind text)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT CASE p_kind WHEN 'ALLOWANCE' THEN 0 WHEN 'PURCHASE' THEN 10 ELSE 20 END
$function$;
