import { DomainException } from './domain.exception';

export enum CommonErrorCode {
  NOT_IMPLEMENTED = 'NOT_IMPLEMENTED',
  INVALID_CURSOR = 'INVALID_CURSOR',
  INVALID_PAGE_SIZE = 'INVALID_PAGE_SIZE',
  INVALID_ACCOUNT_ID = 'INVALID_ACCOUNT_ID',
}

/** Errors that belong to no product module. */
export class CommonException extends DomainException<CommonErrorCode> {}

export function notImplemented(operation: string): CommonException {
  return new CommonException(CommonErrorCode.NOT_IMPLEMENTED, `${operation} is not available yet.`);
}
