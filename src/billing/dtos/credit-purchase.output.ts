import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { connectionOf } from '../../common/pagination';
import { CreditPurchaseEntity, PurchaseStatus } from '../entities/credit-purchase.entity';

registerEnumType(PurchaseStatus, {
  name: 'PurchaseStatus',
  description: 'where a credit package purchase stands',
  valuesMap: {
    PENDING: { description: 'checkout started; no payment yet' },
    COMPLETED: { description: 'paid: its credits went to the wallet' },
    FAILED: { description: 'never paid: the checkout expired or its delayed payment failed; nothing was credited' },
    REFUNDED: {
      description:
        'refunded or disputed in full: its credits were taken back from the wallet, as far as they were still there ' +
        '(a partial refund takes back its share and leaves the purchase COMPLETED)',
    },
  },
});

@ObjectType('CreditPurchase', { description: 'a credit package bought through Stripe Checkout' })
export class CreditPurchaseOutput {
  @Field(() => ID, { description: "the purchase's id" })
  id!: string;

  @Field({ description: 'the credit package bought' })
  packageId!: string;

  @Field(() => Int, { description: 'wallet credits it adds once paid' })
  credits!: number;

  @Field(() => Int, { description: 'what was paid (before payment: what the checkout charges), in cents of `currency`' })
  amountCents!: number;

  @Field({ description: 'ISO 4217 currency code, lower case' })
  currency!: string;

  @Field(() => PurchaseStatus, { description: 'where the purchase stands' })
  status!: PurchaseStatus;

  @Field({ description: 'when the checkout started' })
  createdAt!: Date;

  static from(row: CreditPurchaseEntity): CreditPurchaseOutput {
    return {
      id: row.id,
      packageId: row.packageId,
      credits: row.credits,
      amountCents: row.amountCents,
      currency: row.currency,
      status: row.status,
      createdAt: row.createdAt,
    };
  }
}

export const CreditPurchaseConnection = connectionOf(CreditPurchaseOutput, 'CreditPurchase', 'newest first');
