import { DomainException, NOT_FOUND, PublicForm } from '../common/domain.exception';

export enum AccountsErrorCode {
  ACCOUNT_NOT_FOUND = 'ACCOUNT_NOT_FOUND',
}

/** How clients see each of these errors. */
const ACCOUNTS_ERRORS: Record<AccountsErrorCode, PublicForm> = {
  [AccountsErrorCode.ACCOUNT_NOT_FOUND]: NOT_FOUND,
};

export class AccountsException extends DomainException<AccountsErrorCode> {
  get publicForm(): PublicForm {
    return ACCOUNTS_ERRORS[this.code];
  }
}
