import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../common/pagination';
import { CreditType } from '../../credit-type.enum';
import { CreditTransactionEntity } from '../../entities/credit-transaction.entity';

@ObjectType('CreditTransaction')
export class CreditTransactionOutput {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'GRANT, PURCHASE, CONSUME, HOLD, CAPTURE, RELEASE, REFUND, EXPIRE, CLAWBACK, ADJUST' })
  kind!: string;

  @Field(() => CreditType, { nullable: true, description: 'null for wallet rows' })
  creditType!: CreditType | null;

  @Field(() => Int)
  amount!: number;

  @Field(() => Int)
  balanceAfter!: number;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  reference!: string | null;

  @Field()
  createdAt!: Date;

  static from(row: CreditTransactionEntity): CreditTransactionOutput {
    return {
      id: String(row.id),
      kind: row.kind,
      creditType: row.pool === 'WALLET' ? null : row.pool,
      amount: row.amount,
      balanceAfter: row.balanceAfter,
      description: row.description,
      reference: row.reference,
      createdAt: row.createdAt,
    };
  }
}

export const CreditTransactionConnection = connectionOf(CreditTransactionOutput, 'CreditTransaction');
