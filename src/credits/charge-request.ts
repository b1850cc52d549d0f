import { createHash } from 'node:crypto';
import { CreditType, MAX_CREDIT_AMOUNT } from './credit-type.enum';
import { CreditsErrorCode, CreditsException } from './credits.exception';

/**
 * What makes a charge request acceptable, and how two requests are told to be the same: the rules checked before
 * anything reaches the ledger, so that a refused request changes nothing.
 */

export interface Charge {
  type: CreditType;
  amount: number;
}

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const MAX_DESCRIPTION_LENGTH = 500;

/** The refusal of a malformed charge request (BAD_USER_INPUT). */
export function invalid(message: string, field?: string): CreditsException {
  return new CreditsException(CreditsErrorCode.INVALID_CHARGE, message, field ? { field } : {});
}

/**
 * What refuses a batch of events when one of them is refused before anything is charged: the event's refusal, naming
 * its place in the batch (a batch of one answers as the event alone would).
 */
export function eventOfBatchError(error: unknown, index: number, size: number): unknown {
  if (size === 1 || !(error instanceof CreditsException)) return error;
  return invalid(`Event ${index + 1}: ${error.message}`, `events.${index}`);
}

export function assertAmount(amount: unknown, field = 'amount'): asserts amount is number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_CREDIT_AMOUNT) {
    throw invalid(`${field} must be a whole number from 1 to ${MAX_CREDIT_AMOUNT}, got ${String(amount)}.`, field);
  }
}

/** An optional text (idempotency key, description) is 1 to `max` characters when given. */
export function assertText(value: string | null | undefined, field: string, max: number): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(`${field} must be between 1 and ${max} characters.`, field);
  }
}

/** Merges charges of one type and checks every one, so that nothing reaches the ledger unless all are valid. */
export function normalise(charges: Charge[]): Charge[] {
  if (!Array.isArray(charges) || charges.length === 0) throw invalid('At least one charge is required.', 'charges');
  const merged = new Map<CreditType, number>();
  for (const charge of charges) {
    if (!Object.values(CreditType).includes(charge?.type)) {
      throw invalid(`Unknown credit type ${String(charge?.type)}.`, 'type');
    }
    assertAmount(charge.amount);
    const total = (merged.get(charge.type) ?? 0) + charge.amount;
    assertAmount(total);
    merged.set(charge.type, total);
  }
  return [...merged].sort(([a], [b]) => a.localeCompare(b)).map(([type, amount]) => ({ type, amount }));
}

/** Identifies a request for its idempotency key: the same key with another request is refused. */
export function requestHash(accountId: string, mode: string, charges: Charge[]): string {
  return createHash('sha256').update(JSON.stringify([accountId, mode, charges])).digest('hex');
}
