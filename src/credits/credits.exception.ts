import { DomainException } from '../common/domain.exception';

export enum CreditsErrorCode {
  INSUFFICIENT_CREDITS = 'INSUFFICIENT_CREDITS',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  INVALID_CHARGE = 'INVALID_CHARGE',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  HOLD_NOT_FOUND = 'HOLD_NOT_FOUND',
  HOLD_NOT_PENDING = 'HOLD_NOT_PENDING',
  HOLD_EXPIRED = 'HOLD_EXPIRED',
  BALANCE_LIMIT = 'BALANCE_LIMIT',
}

export class CreditsException extends DomainException<CreditsErrorCode> {}
