import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A captured hold records what its capture kept of each allocation (`kept`, written by credits_capture), which the
 * history reads. Holds captured for less before it did get theirs here from the ledger itself: an allocation kept
 * what it held less what its RELEASE rows gave back. Allocations kept whole need none (no `kept` means all of it).
 */
export class KeptAllocations1795258801700 implements MigrationInterface {
  name = 'KeptAllocations1795258801700';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      WITH released AS (
        SELECT t.hold_id, t.pool, t.charge_type, t.grant_id, sum(t.amount) AS units
          FROM credit_transactions t
          JOIN credit_holds h ON h.id = t.hold_id AND h.status = 'CAPTURED'
         WHERE t.kind = 'RELEASE'
         GROUP BY 1, 2, 3, 4
      )
      UPDATE credit_holds h
         SET allocations = (
           SELECT jsonb_agg(CASE WHEN r.units > 0 THEN a || jsonb_build_object('kept', (a->>'amount')::bigint - r.units)
                                 ELSE a END ORDER BY n)
             FROM jsonb_array_elements(h.allocations) WITH ORDINALITY AS e(a, n)
             LEFT JOIN released r ON r.hold_id = h.id AND r.pool = a->>'pool' AND r.charge_type = a->>'type'
                                 AND r.grant_id IS NOT DISTINCT FROM (a->>'grant')::uuid)
       WHERE h.status = 'CAPTURED' AND h.id IN (SELECT hold_id FROM released)
    `);
  }

  async down(): Promise<void> {
    // `kept` is read only by the history; older code ignores it.
  }
}
