import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { IsEnum, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ACCOUNT_ID_PATTERN } from '../../../auth/token.service';
import { CreditType, MAX_CREDIT_AMOUNT } from '../../credit-type.enum';
import { MAX_DESCRIPTION_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from '../../charge-request';

@InputType('ConsumeCreditsInput', { description: 'one usage event: a charge of one type for one account' })
export class ConsumeCreditsInput {
  @Field(() => ID, {
    nullable: true,
    description: 'required for the service and admin roles; a plain user may only name their own account',
  })
  @IsOptional()
  @Matches(ACCOUNT_ID_PATTERN, { message: 'accountId must be 1 to 128 letters, digits or ._@:|+-' })
  accountId?: string;

  @Field(() => CreditType, { description: 'MESSAGE or INTEGRATION: PROJECT is a quota, not metered, and is refused' })
  @IsEnum(CreditType)
  creditType!: CreditType;

  @Field(() => Int, { description: `units to charge: 1 to ${MAX_CREDIT_AMOUNT}` })
  @IsInt()
  @Min(1)
  @Max(MAX_CREDIT_AMOUNT)
  amount!: number;

  @Field({
    description:
      `1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, unique per event: the same key with the same input is charged ` +
      'once (a replay), with other input it is refused (IDEMPOTENCY_CONFLICT)',
  })
  @IsString()
  @Length(1, MAX_IDEMPOTENCY_KEY_LENGTH)
  idempotencyKey!: string;

  @Field(() => String, {
    nullable: true,
    description: `what the use was, up to ${MAX_DESCRIPTION_LENGTH} characters: shown in creditUsage`,
  })
  @IsOptional()
  @IsString()
  @Length(1, MAX_DESCRIPTION_LENGTH)
  description?: string;
}
