import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../common/pagination';
import { CreditType, LedgerKind } from '../../credit-type.enum';
import { HistoryEntry } from '../../balances.service';

/** What remains of a quota without a limit, as an Int: GraphQL's largest. */
const UNLIMITED = 2_147_483_647;

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

  @Field(() => Int, {
    description:
      "what remained after this entry, the same for every type: the type's allowance left (the wallet's credits for " +
      `wallet rows); for PROJECT the project units still free under the plan (${UNLIMITED} without a project limit)`,
  })
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

export const CreditTransactionConnection = connectionOf(CreditTransactionOutput, 'CreditTransaction', 'newest first');
