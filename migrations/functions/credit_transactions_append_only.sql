-- Keeps the ledger append-only: credit_transactions rows are never updated, deleted or truncated. A correction
-- is a new row. Raises restrict_violation for UPDATE, DELETE and TRUNCATE; its two triggers are defined here too.
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credit_transactions_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
      BEGIN
        RAISE EXCEPTION 'credit_transactions is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $function$;

CREATE OR REPLACE TRIGGER credit_transactions_append_only BEFORE DELETE OR UPDATE ON public.credit_transactions FOR EACH ROW EXECUTE FUNCTION credit_transactions_append_only();
CREATE OR REPLACE TRIGGER credit_transactions_no_truncate BEFORE TRUNCATE ON public.credit_transactions FOR EACH STATEMENT EXECUTE FUNCTION credit_transactions_append_only();
