import { DomainException } from '../common/domain.exception';

export enum BillingErrorCode {
  BILLING_NOT_CONFIGURED = 'BILLING_NOT_CONFIGURED',
  STRIPE_UNAVAILABLE = 'STRIPE_UNAVAILABLE',
  STRIPE_REQUEST_FAILED = 'STRIPE_REQUEST_FAILED',
  PRICE_NOT_FOUND = 'PRICE_NOT_FOUND',
  NO_SUBSCRIPTION = 'NO_SUBSCRIPTION',
  INVALID_SIGNATURE = 'INVALID_SIGNATURE',
  PACKAGE_REQUIRED = 'PACKAGE_REQUIRED',
}

export class BillingException extends DomainException<BillingErrorCode> {}
