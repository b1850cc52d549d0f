import { HttpStatus } from '@nestjs/common';
import { DomainException, PublicForm } from '../common/domain.exception';

export enum AuthErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
}

/** How clients see each of these errors. */
const AUTH_ERRORS: Record<AuthErrorCode, PublicForm> = {
  [AuthErrorCode.UNAUTHENTICATED]: { code: 'UNAUTHENTICATED', status: HttpStatus.UNAUTHORIZED },
  [AuthErrorCode.FORBIDDEN]: { code: 'FORBIDDEN', status: HttpStatus.FORBIDDEN },
};

export class AuthException extends DomainException<AuthErrorCode> {
  get publicForm(): PublicForm {
    return AUTH_ERRORS[this.code];
  }
}
