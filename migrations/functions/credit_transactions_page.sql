-- One page of an account's history as a person reads it, newest first: the p_limit entries with an id below
-- p_before. Each entry is a credit_transactions row, except that a guarded call's hold reads as what the call came
-- to: a HOLD row of a captured hold is that part of the call's charge (kind CAPTURE, for what the capture kept of
-- the row's allocation, as credits_capture recorded it: `kept`, or all of it), the RELEASE rows that gave a hold's unused part back are folded into its HOLD rows, and so
-- a hold given back whole (released, expired) shows nothing. Only a hold still pending reads HOLD. The ledger itself
-- is untouched; the amounts shown add up to its own.
-- balance_after is what remained of the pool after the entry, for every pool: the credits available (after a
-- capture, as they stood with only what it kept taken), and for PROJECT, which the ledger counts in units taken, the
-- quota units still free under the account's plan (null when the plan has no project limit).
-- Planned once for every account (a generic plan), so that it always walks the account's (account_id, id DESC) index,
-- however large a share of the table one account holds: a plan made for one account's values could walk the
-- table's newest rows instead, reading every other account's rows written since. A HOLD row's hold is read by its
-- key.
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credit_transactions_page(p_account text, p_before bigint, p_limit integer)
 RETURNS SETOF credit_transactions
 LANGUAGE sql
 STABLE
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
  SELECT t.id, t.account_id,
         (CASE WHEN hold.captured THEN 'CAPTURE' ELSE t.kind END)::ledger_kind,
         t.pool, t.charge_type, t.grant_id, t.hold_id,
         (CASE WHEN hold.captured THEN -hold.kept ELSE t.amount END)::credit_delta,
         (CASE WHEN t.pool <> 'PROJECT' THEN t.balance_after + coalesce(-t.amount - hold.kept, 0)
               ELSE (SELECT greatest(p.project_limit - (t.balance_after - coalesce(-t.amount - hold.kept, 0)), 0)
                       FROM accounts a JOIN plans p ON p.code = a.plan_code
                      WHERE a.id = p_account AND p.project_limit IS NOT NULL)
          END)::credit_quantity,
         t.reference, t.description, t.created_at
    FROM (SELECT * FROM credit_transactions WHERE account_id = p_account AND id < p_before) t
    LEFT JOIN LATERAL (
      SELECT h.status = 'CAPTURED' AS captured, h.status = 'PENDING' AS pending,
             CASE WHEN h.status = 'CAPTURED' THEN coalesce((a->>'kept')::bigint, (a->>'amount')::bigint) END AS kept
        FROM credit_holds h, jsonb_array_elements(h.allocations) a
       WHERE h.id = t.hold_id AND t.kind = 'HOLD'
         AND a->>'pool' = t.pool AND a->>'type' = t.charge_type AND (a->>'grant') IS NOT DISTINCT FROM t.grant_id::text
       LIMIT 1) hold ON true
   WHERE (t.kind <> 'RELEASE' OR t.hold_id IS NULL)
     AND (t.kind <> 'HOLD' OR hold.pending OR hold.kept > 0)
   ORDER BY t.id DESC
   LIMIT p_limit
$function$;
