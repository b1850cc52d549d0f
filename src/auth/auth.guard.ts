import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { requestOf } from '../common/request-context';
import { AccountsService } from '../accounts/accounts.service';
import { AuthErrorCode, AuthException } from './auth.exception';
import { IS_PUBLIC } from './public.decorator';
import { hasRole, Role } from './role.enum';
import { REQUIRED_ROLES } from './roles.decorator';
import { TokenService } from './token.service';

/**
 * Applied to every handler: verifies the bearer token, checks @Roles, and makes sure the caller's account exists
 * (accounts are created on first sight). Handlers marked @Public() are served without a token.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly accounts: AccountsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = requestOf(context);
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'A bearer token is required.');
    const account = await this.tokens.verify(match[1]);

    const required = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (required?.length && !hasRole(account, ...required)) {
      throw new AuthException(AuthErrorCode.FORBIDDEN, `This operation requires the ${required.join(' or ')} role.`);
    }

    await this.accounts.ensure(account.id);
    request.account = account;
    return true;
  }
}
