import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { requestOf } from '../common/request-context';
import { AuthErrorCode, AuthException } from './auth.exception';
import { AuthenticatedAccount } from './role.enum';

/** The authenticated caller: account id and roles, as verified by the AuthGuard. */
export const CurrentAccount = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedAccount => {
  const account = requestOf(context).account;
  if (!account) throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'A valid bearer token is required.');
  return account;
});
