import { DomainException } from '../common/domain.exception';

export enum BillingErrorCode {
  BILLING_NOT_CONFIGURED = 'BILLING_NOT_CONFIGURED',
}

export class BillingException extends DomainException<BillingErrorCode> {}
