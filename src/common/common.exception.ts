import { DomainException } from './domain.exception';

export enum CommonErrorCode {
  NOT_IMPLEMENTED = 'NOT_IMPLEMENTED',
}

/** Errors that belong to no product module. */
export class CommonException extends DomainException<CommonErrorCode> {}

export function notImplemented(operation: string): CommonException {
  return new CommonException(CommonErrorCode.NOT_IMPLEMENTED, `${operation} is not available yet.`);
}
