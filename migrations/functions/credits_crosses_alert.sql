-- Whether going from p_before to p_after used (or held) units of a limit may cross an alert threshold: a cheap
-- test made before credits_record_alerts does the work, from the lowest and highest thresholds.
-- Locks: none.
CREATE OR REPLACE FUNCTION public.credits_crosses_alert(p_limit bigint, p_before bigint, p_after bigint)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT p_limit > 0
     AND p_before * 100 < p_limit * (credits_alert_thresholds())[cardinality(credits_alert_thresholds())]
     AND p_after * 100 >= p_limit * (credits_alert_thresholds())[1]
$function$;
