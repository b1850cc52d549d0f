import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ACCOUNT_ID_PATTERN } from '../../../auth/token.service';
import { MAX_CREDIT_AMOUNT } from '../../credit-type.enum';
import { MAX_DESCRIPTION_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from '../../charge-request';

@InputType('GrantCreditsInput')
export class GrantCreditsInput {
  @Field(() => ID)
  @Matches(ACCOUNT_ID_PATTERN, { message: 'accountId must be 1 to 128 letters, digits or ._@:|+-' })
  accountId!: string;

  @Field(() => Int)
  @IsInt()
  @Min(1)
  @Max(MAX_CREDIT_AMOUNT)
  amount!: number;

  @Field()
  @IsString()
  @Length(1, MAX_DESCRIPTION_LENGTH)
  reason!: string;

  @Field()
  @IsString()
  @Length(1, MAX_IDEMPOTENCY_KEY_LENGTH)
  idempotencyKey!: string;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'create the account (on the FREE plan) when it does not exist yet; without it such a grant is refused',
  })
  @IsOptional()
  @IsBoolean()
  createAccount?: boolean;
}
