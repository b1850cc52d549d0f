import { Field, Int, ObjectType } from '@nestjs/graphql';
import { CreditType } from '../../credit-type.enum';

@ObjectType('ConsumeResult')
export class ConsumeResultOutput {
  @Field({ description: 'false when refused; then nothing was charged' })
  allowed!: boolean;

  @Field(() => CreditType)
  creditType!: CreditType;

  @Field(() => Int)
  charged!: number;

  @Field(() => Int)
  fromAllowance!: number;

  @Field(() => Int)
  fromWallet!: number;

  @Field(() => Int, { nullable: true })
  remaining!: number | null;

  @Field({ description: 'true when this idempotency key had already been used with the same input' })
  replayed!: boolean;

  @Field(() => String, { nullable: true, description: 'why the charge was refused (INSUFFICIENT_CREDITS, QUOTA_EXCEEDED; in a batch also IDEMPOTENCY_CONFLICT)' })
  reason?: string | null;

  @Field(() => String, { nullable: true, description: 'a message a person understands, when refused' })
  message?: string | null;
}
