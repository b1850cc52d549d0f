-- The usage alert thresholds, in percent of a type's limit, lowest first: the ledger's one list of them. A charge
-- that takes what is used or held of a limit to one of them records an alert (credits_record_alerts).
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credits_alert_thresholds()
 RETURNS integer[]
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT ARRAY[80, 100]
$function$;
