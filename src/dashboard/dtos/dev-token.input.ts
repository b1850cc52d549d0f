import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { ACCOUNT_ID_PATTERN } from '../../auth/token.service';

/** POST /billing/dev-token: whom to sign in as. */
export class DevTokenInput {
  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: 'accountId must be 1 to 128 letters, digits or ._@:|+-' })
  accountId!: string;

  @IsOptional()
  @IsBoolean()
  admin?: boolean;
}
