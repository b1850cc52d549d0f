import { ArgsOptions, ID } from '@nestjs/graphql';
import { AuthErrorCode, AuthException } from '../auth/auth.exception';
import { AuthenticatedAccount, hasRole, Role } from '../auth/role.enum';
import { ACCOUNT_ID_PATTERN } from '../auth/token.service';
import { CommonErrorCode, CommonException } from './common.exception';

/**
 * Whose data a request reads: the caller's own account, or, for admins only, the one they name. A plain user who
 * names another account is refused, or with `ignoreForUsers` (the earlier REST endpoints, whose `userId`
 * parameter is never trusted) answered with their own data.
 */
export function accountInScope(
  caller: AuthenticatedAccount,
  requested?: string | null,
  options: { ignoreForUsers?: boolean } = {},
): string {
  if (!requested || requested === caller.id) return caller.id;
  if (!hasRole(caller, Role.ADMIN)) {
    if (options.ignoreForUsers) return caller.id;
    throw new AuthException(AuthErrorCode.FORBIDDEN, "Only admins may read another account's data.");
  }
  if (!ACCOUNT_ID_PATTERN.test(requested)) {
    throw new CommonException(CommonErrorCode.INVALID_ACCOUNT_ID, 'That is not a valid account id.');
  }
  return requested;
}

/** The `accountId` argument of the reads an admin may make for any account (resolved by accountInScope). */
export const ACCOUNT_ARG = {
  type: () => ID,
  nullable: true,
  description: "whose data: the caller's account when omitted; an admin may name any account, anyone else only their own",
} satisfies ArgsOptions;
