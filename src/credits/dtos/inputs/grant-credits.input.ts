import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ACCOUNT_ID_PATTERN } from '../../../auth/token.service';
import { MAX_CREDIT_AMOUNT } from '../../credit-type.enum';
import { MAX_DESCRIPTION_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from '../../charge-request';

@InputType('GrantCreditsInput', { description: "an operator's grant of wallet credits" })
export class GrantCreditsInput {
  @Field(() => ID, { description: 'the account to credit' })
  @Matches(ACCOUNT_ID_PATTERN, { message: 'accountId must be 1 to 128 letters, digits or ._@:|+-' })
  accountId!: string;

  @Field(() => Int, { description: `wallet credits to grant: 1 to ${MAX_CREDIT_AMOUNT}` })
  @IsInt()
  @Min(1)
  @Max(MAX_CREDIT_AMOUNT)
  amount!: number;

  @Field({ description: `why, up to ${MAX_DESCRIPTION_LENGTH} characters: the ledger row's description` })
  @IsString()
  @Length(1, MAX_DESCRIPTION_LENGTH)
  reason!: string;

  @Field({
    description:
      `1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters: a second grant with the same key returns the first, one ` +
      'with another account or amount is refused (IDEMPOTENCY_CONFLICT)',
  })
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
