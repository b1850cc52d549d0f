import { HttpStatus } from '@nestjs/common';
import { BAD_USER_INPUT, DomainException, NOT_FOUND, PublicForm } from '../common/domain.exception';

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

/** How clients see each of these errors. */
const CREDITS_ERRORS: Record<CreditsErrorCode, PublicForm> = {
  [CreditsErrorCode.INSUFFICIENT_CREDITS]: { code: 'INSUFFICIENT_CREDITS', status: HttpStatus.PAYMENT_REQUIRED },
  [CreditsErrorCode.QUOTA_EXCEEDED]: { code: 'QUOTA_EXCEEDED', status: HttpStatus.PAYMENT_REQUIRED },
  [CreditsErrorCode.INVALID_CHARGE]: BAD_USER_INPUT,
  [CreditsErrorCode.IDEMPOTENCY_CONFLICT]: { code: 'IDEMPOTENCY_CONFLICT', status: HttpStatus.CONFLICT },
  [CreditsErrorCode.HOLD_NOT_FOUND]: NOT_FOUND,
  [CreditsErrorCode.HOLD_NOT_PENDING]: { code: 'HOLD_NOT_PENDING', status: HttpStatus.CONFLICT },
  [CreditsErrorCode.HOLD_EXPIRED]: { code: 'HOLD_EXPIRED', status: HttpStatus.CONFLICT },
  [CreditsErrorCode.BALANCE_LIMIT]: { code: 'BALANCE_LIMIT', status: HttpStatus.UNPROCESSABLE_ENTITY },
};

export class CreditsException extends DomainException<CreditsErrorCode> {
  get publicForm(): PublicForm {
    return CREDITS_ERRORS[this.code];
  }
}
