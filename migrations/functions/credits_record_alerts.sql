-- Records the usage alerts a charge crossed (credits_alert_thresholds: 80 % and 100 % of the type's limit), once per account, type, period
-- and threshold, even under concurrent charges (a unique key). p_before and p_after count what is used or held.
-- Returns the alerts newly recorded.
-- Locks: none of its own; called while the charge holds its pools.
CREATE OR REPLACE FUNCTION public.credits_record_alerts(p_account text, p_type text, p_period_start timestamp with time zone, p_limit bigint, p_before bigint, p_after bigint, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_threshold integer;
  v_alerts jsonb := '[]';
BEGIN
  IF p_limit IS NULL OR p_limit <= 0 THEN RETURN v_alerts; END IF;
  FOREACH v_threshold IN ARRAY credits_alert_thresholds() LOOP
    IF p_before * 100 < p_limit * v_threshold AND p_after * 100 >= p_limit * v_threshold THEN
      INSERT INTO usage_alerts (account_id, credit_type, period_start, threshold, used, credit_limit, created_at)
      VALUES (p_account, p_type, p_period_start, v_threshold, p_after, p_limit, p_now)
      ON CONFLICT DO NOTHING;
      IF FOUND THEN
        v_alerts := v_alerts || jsonb_build_object('creditType', p_type, 'threshold', v_threshold, 'used', p_after,
                                                   'limit', p_limit, 'periodStart', p_period_start);
      END IF;
    END IF;
  END LOOP;
  RETURN v_alerts;
END $function$;
