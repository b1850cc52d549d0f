import { BAD_USER_INPUT, DomainException, PublicForm } from './domain.exception';

export enum CommonErrorCode {
  INVALID_CURSOR = 'INVALID_CURSOR',
  INVALID_PAGE_SIZE = 'INVALID_PAGE_SIZE',
  INVALID_ACCOUNT_ID = 'INVALID_ACCOUNT_ID',
  INVALID_CHARACTERS = 'INVALID_CHARACTERS',
}

/** Errors that belong to no product module. */
/** How clients see each of these errors. */
const COMMON_ERRORS: Record<CommonErrorCode, PublicForm> = {
  [CommonErrorCode.INVALID_CURSOR]: BAD_USER_INPUT,
  [CommonErrorCode.INVALID_PAGE_SIZE]: BAD_USER_INPUT,
  [CommonErrorCode.INVALID_ACCOUNT_ID]: BAD_USER_INPUT,
  [CommonErrorCode.INVALID_CHARACTERS]: BAD_USER_INPUT,
};

export class CommonException extends DomainException<CommonErrorCode> {
  get publicForm(): PublicForm {
    return COMMON_ERRORS[this.code];
  }
}

