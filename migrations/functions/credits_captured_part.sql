-- What a capture kept of one allocation of its hold: the part of pool p_pool, grant p_grant (null for PROJECT) and
-- credit type p_type. A capture for less than was held gives the rest back wallet first, then allowance, each from
-- its newest allocation (credits_capture), so what it kept fills the type's allocations oldest first, the wallet's
-- and the others' apart, up to the fromWallet / fromAllowance it recorded in credit_holds.captured. A whole capture
-- keeps every allocation whole. Reads only its arguments.
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credits_captured_part(p_allocations jsonb, p_captured jsonb, p_pool text, p_type text, p_grant uuid)
 RETURNS bigint
 LANGUAGE sql
 IMMUTABLE
AS $function$
  WITH parts AS (
    SELECT (a->>'amount')::bigint AS amount,
           a->>'pool' = p_pool AND (a->>'grant') IS NOT DISTINCT FROM p_grant::text AS this_part,
           coalesce(sum((a->>'amount')::bigint) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
             AS before
      FROM jsonb_array_elements(p_allocations) WITH ORDINALITY AS e(a, n)
     WHERE a->>'type' = p_type AND (a->>'pool' = 'WALLET') = (p_pool = 'WALLET')
  ), kept AS (
    SELECT (c->>CASE WHEN p_pool = 'WALLET' THEN 'fromWallet' ELSE 'fromAllowance' END)::bigint AS total
      FROM jsonb_array_elements(p_captured) c
     WHERE c->>'type' = p_type
  )
  SELECT least(parts.amount, greatest(kept.total - parts.before, 0)) FROM parts, kept WHERE parts.this_part
$function$;
