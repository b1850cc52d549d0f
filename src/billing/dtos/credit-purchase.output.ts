import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../common/pagination';
import { CreditPurchaseEntity } from '../entities/credit-purchase.entity';

@ObjectType('CreditPurchase')
export class CreditPurchaseOutput {
  @Field(() => ID)
  id!: string;

  @Field()
  packageId!: string;

  @Field(() => Int)
  credits!: number;

  @Field(() => Int)
  amountCents!: number;

  @Field()
  currency!: string;

  @Field({ description: 'PENDING, COMPLETED, REFUNDED' })
  status!: string;

  @Field()
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

export const CreditPurchaseConnection = connectionOf(CreditPurchaseOutput, 'CreditPurchase');
