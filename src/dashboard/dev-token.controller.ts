import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { Public } from '../auth/public.decorator';
import { Role } from '../auth/role.enum';
import { signToken } from '../auth/token.service';
import { AppConfig } from '../config/app-config';
import { DevTokenInput } from './dtos/dev-token.input';

/** Short enough to be signed in for a working day, never longer than the service accepts. */
const DEV_TOKEN_SECONDS = 12 * 3600;

/**
 * The dashboard's "sign in as" in development: mints a token for any account. Registered only when DEV_SIGN_IN is
 * on (development by default, never production), so elsewhere the path does not exist.
 */
@Controller('billing')
@Public()
export class DevTokenController {
  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  @Post('dev-token')
  @HttpCode(200)
  async mint(@Body() input: DevTokenInput): Promise<{ token: string; accountId: string; roles: Role[]; expiresIn: number }> {
    const roles = input.admin ? [Role.ADMIN] : [];
    const expiresIn = Math.min(DEV_TOKEN_SECONDS, this.config.JWT_MAX_LIFETIME_SECONDS);
    const token = await signToken(this.config.JWT_SECRET!, input.accountId, roles, {
      expiresIn: `${expiresIn}s`,
      issuer: this.config.JWT_ISSUER,
      audience: this.config.JWT_AUDIENCE,
    });
    return { token, accountId: input.accountId, roles, expiresIn };
  }
}
