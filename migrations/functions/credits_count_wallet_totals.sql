-- Keeps the wallet's lifetime totals on its credit_balances row. total_purchased grows by the amount of every
-- PURCHASE grant, here, once per account and statement however many grants the statement wrote. total_used (the
-- wallet credits of every usage record) is counted by the four writers of usage records (credits_consume_batch,
-- credits_capture_whole, credits_capture, credits_charge) in the update of the WALLET row they make anyway, so
-- that a charge pays nothing for it; reconciliation checks both totals against the ledger.
-- Locks: the account's WALLET row, which every writer of a purchase grant already holds (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_count_wallet_totals()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE credit_balances b SET total_purchased = b.total_purchased + n.total
    FROM (SELECT account_id, sum(amount) AS total FROM added_rows
           WHERE pool = 'WALLET' AND kind = 'PURCHASE' GROUP BY account_id) n
   WHERE b.account_id = n.account_id AND b.pool = 'WALLET';
  RETURN NULL;
END $function$;

CREATE OR REPLACE TRIGGER credit_grants_count_purchases AFTER INSERT ON public.credit_grants REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION credits_count_wallet_totals();
