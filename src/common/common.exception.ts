import { DomainException } from './domain.exception';

export enum CommonErrorCode {
  INVALID_CURSOR = 'INVALID_CURSOR',
  INVALID_PAGE_SIZE = 'INVALID_PAGE_SIZE',
  INVALID_ACCOUNT_ID = 'INVALID_ACCOUNT_ID',
  INVALID_CHARACTERS = 'INVALID_CHARACTERS',
}

/** Errors that belong to no product module. */
export class CommonException extends DomainException<CommonErrorCode> {}

