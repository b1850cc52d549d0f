import { DataSource, EntityManager, QueryFailedError } from 'typeorm';

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected

export function pgErrorCode(error: unknown): string | undefined {
  if (error instanceof QueryFailedError) return (error.driverError as { code?: string }).code;
  return (error as { code?: string } | null)?.code;
}

/**
 * Runs `work` in one transaction and retries it from the start when PostgreSQL aborts it as a serialization
 * failure or a deadlock victim, which is safe because nothing of an aborted attempt persists.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction(work);
    } catch (error) {
      const code = pgErrorCode(error);
      if (!code || !RETRYABLE.has(code) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

const LEDGER_RETRYABLE = new Set(['23505', '40001', '40P01']);

/**
 * Runs one ledger call again when it lost a race a retry resolves. Two requests with one idempotency key but
 * different charges lock different pools and may both try to insert the key; the loser's unique violation is
 * retried and then sees the winner's row. Deadlocks cannot arise from the ledger's fixed lock order, but a retry
 * costs nothing if an operator's manual SQL causes one.
 */
export async function retryLedgerCall<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = pgErrorCode(error);
      if (!code || !LEDGER_RETRYABLE.has(code) || attempt >= attempts) throw error;
    }
  }
}
