import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Paid allowance only for paid periods.
 *
 * - `accounts.subscription_plan_code` is the plan of the account's Stripe subscription, kept apart from `plan_code`
 *   (the plan whose limits the account has now): an incomplete subscription, or one past due for longer than the
 *   grace, gets the FREE limits until it is paid.
 * - `accounts.past_due_since` is when the subscription's payment became overdue: the grace counts from there.
 * - `credits_set_period_allowance` moves a period's allowance of one pool to a plan's limit mid-period, up (a new
 *   grant) or down (what is left above the limit is taken back and recorded in `allowance_withholdings`, so that
 *   the period's allowance reads as its grants minus what was withheld, and usage so far still counts).
 */
export class PaidPeriods1795258801100 implements MigrationInterface {
  name = 'PaidPeriods1795258801100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE accounts
        ADD COLUMN subscription_plan_code text REFERENCES plans (code),
        ADD COLUMN past_due_since timestamptz;
      COMMENT ON COLUMN accounts.subscription_plan_code IS
        'the plan of the Stripe subscription; plan_code is the plan whose limits apply now (FREE while it is unpaid)';
      COMMENT ON COLUMN accounts.past_due_since IS 'when the subscription became past due; the grace counts from here';
      UPDATE accounts SET subscription_plan_code = plan_code WHERE stripe_subscription_id IS NOT NULL;
      UPDATE accounts SET past_due_since = now() WHERE status = 'PAST_DUE';
      CREATE INDEX accounts_past_due_idx ON accounts (past_due_since) WHERE past_due_since IS NOT NULL;

      CREATE TABLE allowance_withholdings (
        id            bigserial PRIMARY KEY,
        account_id    text NOT NULL REFERENCES accounts (id),
        pool          grant_pool NOT NULL,
        period_start  timestamptz NOT NULL,
        amount        bigint NOT NULL CHECK (amount > 0),
        created_at    timestamptz NOT NULL
      );
      COMMENT ON TABLE allowance_withholdings IS
        'allowance taken back mid-period because the plan it was granted for is no longer paid; a period''s allowance is its grants minus these';
      CREATE INDEX allowance_withholdings_period_idx ON allowance_withholdings (account_id, pool, period_start);

-- Moves one pool's allowance of a period to p_target credits, what was used so far still counting. A raise is a new
-- ALLOWANCE grant of the difference (its source key is p_source_key and the period's grant count, so each raise is
-- made once); a cut takes back what is left above the target, never below zero, as ADJUST rows, and records what it
-- took. Returns the period's allowance afterwards (above the target when more than the target is used already).
-- The caller holds the account lock; the pool row is locked here, in the ledger's order.
CREATE FUNCTION credits_set_period_allowance(
  p_account text, p_pool text, p_period_start timestamptz, p_period_end timestamptz, p_target bigint,
  p_priority integer, p_source_key text, p_description text, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_granted bigint;
  v_grants integer;
  v_withheld bigint;
  v_allowance bigint;
  v_grant record;
  v_taken bigint := 0;
BEGIN
  PERFORM credits_lock_pools(p_account, ARRAY[p_pool]);
  SELECT coalesce(sum(amount), 0), count(*) INTO v_granted, v_grants FROM credit_grants
   WHERE account_id = p_account AND pool = p_pool AND kind = 'ALLOWANCE' AND period_start = p_period_start;
  SELECT coalesce(sum(amount), 0) INTO v_withheld FROM allowance_withholdings
   WHERE account_id = p_account AND pool = p_pool AND period_start = p_period_start;
  v_allowance := v_granted - v_withheld;

  IF p_target > v_allowance THEN
    PERFORM credits_grant(p_account, p_pool, 'ALLOWANCE', 'GRANT', p_target - v_allowance, p_priority, p_period_end,
                          p_period_start, p_source_key || ':' || v_grants, p_description, NULL, p_now);
    RETURN p_target;
  END IF;

  FOR v_grant IN
    SELECT id FROM credit_grants
     WHERE account_id = p_account AND pool = p_pool AND kind = 'ALLOWANCE' AND period_start = p_period_start
       AND remaining > 0
     ORDER BY created_at DESC, id
  LOOP
    EXIT WHEN v_allowance - v_taken <= p_target;
    v_taken := v_taken + credits_debit_grant(v_grant.id, 'ADJUST', v_allowance - v_taken - p_target, NULL,
                                             p_description, p_now);
  END LOOP;
  IF v_taken > 0 THEN
    INSERT INTO allowance_withholdings (account_id, pool, period_start, amount, created_at)
    VALUES (p_account, p_pool, p_period_start, v_taken, p_now);
  END IF;
  RETURN v_allowance - v_taken;
END $$;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP FUNCTION credits_set_period_allowance(text, text, timestamptz, timestamptz, bigint, integer, text, text,
                                                 timestamptz);
      DROP TABLE allowance_withholdings;
      DROP INDEX accounts_past_due_idx;
      ALTER TABLE accounts DROP COLUMN past_due_since, DROP COLUMN subscription_plan_code;
    `);
  }
}
