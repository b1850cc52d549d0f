-- A group commit of guarded operations. Operation i captures hold p_holds[i] whole, keeping p_results[i] for
-- replays of its idempotency key, or, when p_holds[i] is null, holds p_amounts[i] p_types[i] for p_accounts[i]
-- (no idempotency key; p_rates[i] wallet credits per unit once the allowance is used up). Answers a JSON array,
-- one answer per operation in order, each exactly what credits_capture_whole or credits_hold answers alone.
-- Locks: those of credits_capture_whole and credits_hold, per operation; the caller orders operations by account.
CREATE OR REPLACE FUNCTION public.credits_guard_batch(p_accounts text[], p_holds uuid[], p_types text[], p_amounts bigint[], p_rates bigint[], p_descriptions text[], p_results jsonb[], p_now timestamp with time zone, p_hold_ttl_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_results jsonb[] := '{}';
BEGIN
  FOR i IN 1 .. coalesce(cardinality(p_accounts), 0) LOOP
    IF p_holds[i] IS NULL THEN
      v_results[i] := credits_hold(p_accounts[i], p_types[i], p_amounts[i], p_rates[i], p_now, p_hold_ttl_seconds,
                                   NULL, NULL, p_descriptions[i]);
    ELSE
      v_results[i] := credits_capture_whole(p_accounts[i], p_holds[i], p_now, p_results[i]);
    END IF;
  END LOOP;
  RETURN to_jsonb(v_results);
END $function$;
