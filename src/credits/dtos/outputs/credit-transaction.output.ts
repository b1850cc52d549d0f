import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../common/pagination';
import { CreditType, LedgerKind } from '../../credit-type.enum';
import { CreditTransactionEntity } from '../../entities/credit-transaction.entity';

@ObjectType('CreditTransaction', {
  description: 'one row of the append-only ledger: a signed movement of one pool of credits, never changed afterwards',
})
export class CreditTransactionOutput {
  @Field(() => ID, { description: "the row's id; later rows have larger ids" })
  id!: string;

  @Field(() => LedgerKind, { description: 'what the row records' })
  kind!: LedgerKind;

  @Field(() => CreditType, { nullable: true, description: 'null for wallet rows' })
  creditType!: CreditType | null;

  @Field(() => Int, { description: 'credits (PROJECT: units) added when positive, taken when negative' })
  amount!: number;

  @Field(() => Int, { description: "the pool's balance after this row" })
  balanceAfter!: number;

  @Field(() => String, { nullable: true, description: 'what the movement was for, in words' })
  description!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'what the row refers to, such as a Stripe checkout session or payment, a project, or who granted it',
  })
  reference!: string | null;

  @Field({ description: 'when the row was written' })
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

export const CreditTransactionConnection = connectionOf(CreditTransactionOutput, 'CreditTransaction', 'newest first');
