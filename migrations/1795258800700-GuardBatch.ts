import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Group commit for guarded requests: the keyless holds and whole captures that arrive together settle in one
 * transaction, so a busy instance pays one commit and one round trip for many of them instead of two per request.
 */
export class GuardBatch1795258800700 implements MigrationInterface {
  name = 'GuardBatch1795258800700';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
-- Operation i captures hold p_holds[i] whole, keeping p_results[i] for replays of its idempotency key, or, when
-- p_holds[i] is null, holds p_amounts[i] p_types[i] for p_accounts[i] (no idempotency key; p_rates[i] wallet
-- credits per unit once the allowance is used up). Answers a JSON array, one answer per operation in order, each
-- exactly what credits_capture_whole or credits_hold answers alone. The caller orders operations by account.
CREATE FUNCTION credits_guard_batch(
  p_accounts text[], p_holds uuid[], p_types text[], p_amounts bigint[], p_rates bigint[], p_descriptions text[],
  p_results jsonb[], p_now timestamptz, p_hold_ttl_seconds integer
) RETURNS jsonb
LANGUAGE plpgsql AS $$
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
END $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'DROP FUNCTION credits_guard_batch(text[], uuid[], text[], bigint[], bigint[], text[], jsonb[], timestamptz, integer)',
    );
  }
}
