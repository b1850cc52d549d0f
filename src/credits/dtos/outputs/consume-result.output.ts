import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { CreditType } from '../../credit-type.enum';
import { CreditsErrorCode } from '../../credits.exception';

/** Why a metered charge was refused: the codes of the refusals consumeCredits answers rather than throws. */
export const ConsumeRefusalReason = {
  INSUFFICIENT_CREDITS: CreditsErrorCode.INSUFFICIENT_CREDITS,
  QUOTA_EXCEEDED: CreditsErrorCode.QUOTA_EXCEEDED,
  IDEMPOTENCY_CONFLICT: CreditsErrorCode.IDEMPOTENCY_CONFLICT,
} as const;
export type ConsumeRefusalReason = (typeof ConsumeRefusalReason)[keyof typeof ConsumeRefusalReason];
registerEnumType(ConsumeRefusalReason, {
  name: 'ConsumeRefusalReason',
  description: 'why a metered charge was refused',
  valuesMap: {
    INSUFFICIENT_CREDITS: { description: 'neither the allowance nor the wallet has enough credits left' },
    QUOTA_EXCEEDED: { description: "the plan's PROJECT quota is reached" },
    IDEMPOTENCY_CONFLICT: {
      description: 'in a batch: the idempotency key was already used for a different event (alone, this is an error)',
    },
  },
});

@ObjectType('ConsumeResult', { description: 'the answer to one metered charge: charged, or refused and why' })
export class ConsumeResultOutput {
  @Field({ description: 'false when refused; then nothing was charged' })
  allowed!: boolean;

  @Field(() => CreditType, { description: 'the type charged' })
  creditType!: CreditType;

  @Field(() => Int, { description: 'units charged; 0 when refused' })
  charged!: number;

  @Field(() => Int, { description: "of those, units the period's allowance paid" })
  fromAllowance!: number;

  @Field(() => Int, { description: 'wallet credits paid for the rest' })
  fromWallet!: number;

  @Field(() => Int, {
    nullable: true,
    description:
      'units of this type that can still be paid for afterwards (allowance and wallet); null when unlimited, or ' +
      'when the idempotency key conflicts',
  })
  remaining!: number | null;

  @Field({ description: 'true when this idempotency key had already been used with the same input' })
  replayed!: boolean;

  @Field(() => ConsumeRefusalReason, { nullable: true, description: 'why the charge was refused; null when allowed' })
  reason?: ConsumeRefusalReason | null;

  @Field(() => String, { nullable: true, description: 'a message a person understands, when refused' })
  message?: string | null;
}
