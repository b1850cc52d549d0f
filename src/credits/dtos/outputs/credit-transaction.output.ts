import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../common/pagination';
import { CreditType } from '../../credit-type.enum';
import { HistoryEntry } from '../../balances.service';

/** What remains of a quota without a limit, as an Int: GraphQL's largest. */
const UNLIMITED = 2_147_483_647;

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

  @Field(() => Int, {
    description:
      "what remained after this entry, the same for every type: the type's allowance left (the wallet's credits for " +
      `wallet rows); for PROJECT the project units still free under the plan (${UNLIMITED} without a project limit)`,
  })
  balanceAfter!: number;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  reference!: string | null;

  @Field()
  createdAt!: Date;

  static from(row: HistoryEntry): CreditTransactionOutput {
    return {
      id: String(row.id),
      kind: row.kind,
      creditType: row.pool === 'WALLET' ? null : row.pool,
      amount: row.amount,
      balanceAfter: row.balanceAfter ?? UNLIMITED,
      description: row.description,
      reference: row.reference,
      createdAt: row.createdAt,
    };
  }
}

export const CreditTransactionConnection = connectionOf(CreditTransactionOutput, 'CreditTransaction');
