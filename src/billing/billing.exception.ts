import { HttpStatus } from '@nestjs/common';
import { BAD_USER_INPUT, DomainException, PublicForm } from '../common/domain.exception';

export enum BillingErrorCode {
  BILLING_NOT_CONFIGURED = 'BILLING_NOT_CONFIGURED',
  STRIPE_UNAVAILABLE = 'STRIPE_UNAVAILABLE',
  STRIPE_REQUEST_FAILED = 'STRIPE_REQUEST_FAILED',
  PRICE_NOT_FOUND = 'PRICE_NOT_FOUND',
  NO_SUBSCRIPTION = 'NO_SUBSCRIPTION',
  INVALID_SIGNATURE = 'INVALID_SIGNATURE',
  INVALID_EVENT = 'INVALID_EVENT',
  PACKAGE_REQUIRED = 'PACKAGE_REQUIRED',
}

/** How clients see each of these errors. */
const BILLING_ERRORS: Record<BillingErrorCode, PublicForm> = {
  [BillingErrorCode.BILLING_NOT_CONFIGURED]: { code: 'BILLING_NOT_CONFIGURED', status: HttpStatus.SERVICE_UNAVAILABLE },
  [BillingErrorCode.STRIPE_UNAVAILABLE]: { code: 'STRIPE_UNAVAILABLE', status: HttpStatus.SERVICE_UNAVAILABLE },
  [BillingErrorCode.STRIPE_REQUEST_FAILED]: { code: 'STRIPE_REQUEST_FAILED', status: HttpStatus.BAD_GATEWAY },
  [BillingErrorCode.PRICE_NOT_FOUND]: { code: 'BILLING_NOT_CONFIGURED', status: HttpStatus.SERVICE_UNAVAILABLE },
  [BillingErrorCode.NO_SUBSCRIPTION]: { code: 'NO_SUBSCRIPTION', status: HttpStatus.CONFLICT },
  [BillingErrorCode.INVALID_SIGNATURE]: { code: 'INVALID_SIGNATURE', status: HttpStatus.BAD_REQUEST },
  [BillingErrorCode.PACKAGE_REQUIRED]: BAD_USER_INPUT,
  [BillingErrorCode.INVALID_EVENT]: BAD_USER_INPUT,
};

export class BillingException extends DomainException<BillingErrorCode> {
  get publicForm(): PublicForm {
    return BILLING_ERRORS[this.code];
  }
}
