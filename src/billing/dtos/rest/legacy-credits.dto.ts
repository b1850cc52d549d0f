import { Type } from 'class-transformer';
import { IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { MAX_PAGE_SIZE } from '../../../common/cursor';

/** `userId` is accepted for the earlier frontends but only honoured for admins. */
export class LegacyAccountQuery {
  @IsOptional()
  @IsString()
  @Length(1, 128)
  userId?: string;
}

export class LegacyHistoryQuery extends LegacyAccountQuery {
  @IsOptional()
  @IsIn(['purchases', 'usage', 'transactions'])
  type?: 'purchases' | 'usage' | 'transactions';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

export class LegacyPurchaseBody extends LegacyAccountQuery {
  @IsOptional()
  @IsString()
  @Length(1, 64)
  packageId?: string;

  @IsOptional()
  @IsString()
  @Length(1, 255)
  priceId?: string;

  @IsOptional()
  @IsEmail()
  email?: string;
}
