import { DomainException } from '../common/domain.exception';

export enum AuthErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
}

export class AuthException extends DomainException<AuthErrorCode> {}
