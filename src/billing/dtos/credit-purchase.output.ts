import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../common/pagination';

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
}

export const CreditPurchaseConnection = connectionOf(CreditPurchaseOutput, 'CreditPurchase');
