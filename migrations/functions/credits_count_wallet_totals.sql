-- Keeps the wallet's lifetime totals on its credit_balances row: total_purchased grows by the amount of every
-- PURCHASE grant, total_used by the wallet credits of every usage record (from_wallet). One update per account and
-- statement, however many rows the statement wrote; its two triggers are defined here too.
-- Locks: the account's WALLET row, which every writer of a purchase grant or of a wallet-paid usage record already
-- holds (credits_lock_pools).
CREATE OR REPLACE FUNCTION public.credits_count_wallet_totals()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF TG_TABLE_NAME = 'credit_grants' THEN
    UPDATE credit_balances b SET total_purchased = b.total_purchased + n.total
      FROM (SELECT account_id, sum(amount) AS total FROM added_rows
             WHERE pool = 'WALLET' AND kind = 'PURCHASE' GROUP BY account_id) n
     WHERE b.account_id = n.account_id AND b.pool = 'WALLET';
  ELSE
    UPDATE credit_balances b SET total_used = b.total_used + n.total
      FROM (SELECT account_id, sum(from_wallet) AS total FROM added_rows
             WHERE from_wallet > 0 GROUP BY account_id) n
     WHERE b.account_id = n.account_id AND b.pool = 'WALLET';
  END IF;
  RETURN NULL;
END $function$;

CREATE OR REPLACE TRIGGER credit_grants_count_purchases AFTER INSERT ON public.credit_grants REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION credits_count_wallet_totals();
CREATE OR REPLACE TRIGGER credit_usage_count_wallet_use AFTER INSERT ON public.credit_usage REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION credits_count_wallet_totals();
