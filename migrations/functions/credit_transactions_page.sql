-- One page of an account's credit_transactions rows, newest first: the p_limit rows with an id below p_before. Planned
-- once for every account (a generic plan), so that it always walks the account's (account_id, id DESC) index,
-- however large a share of the table one account holds: a plan made for one account's values could walk the
-- table's newest rows instead, reading every other account's rows written since.
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credit_transactions_page(p_account text, p_before bigint, p_limit integer)
 RETURNS SETOF credit_transactions
 LANGUAGE sql
 STABLE
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
  SELECT * FROM credit_transactions WHERE account_id = p_account AND id < p_before ORDER BY id DESC LIMIT p_limit
$function$;
