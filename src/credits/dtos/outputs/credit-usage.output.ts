import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../common/pagination';
import { CreditType } from '../../credit-type.enum';
import { CreditUsageEntity } from '../../entities/credit-usage.entity';

@ObjectType('CreditUsage', { description: 'one metered use: what a charge took, and from where' })
export class CreditUsageOutput {
  @Field(() => ID, { description: "the record's id; later records have larger ids" })
  id!: string;

  @Field(() => CreditType, { description: 'the type of use charged' })
  creditType!: CreditType;

  @Field(() => Int, { description: 'units used' })
  amount!: number;

  @Field(() => Int, { description: "of those, units the period's allowance paid" })
  fromAllowance!: number;

  @Field(() => Int, { description: "wallet credits paid for the rest, at the type's wallet rate" })
  fromWallet!: number;

  @Field(() => String, { nullable: true, description: 'what the use was, as the caller described it' })
  description!: string | null;

  @Field({ description: 'when it was charged' })
  createdAt!: Date;

  static from(row: CreditUsageEntity): CreditUsageOutput {
    return {
      id: String(row.id),
      creditType: row.creditType,
      amount: row.amount,
      fromAllowance: row.fromAllowance,
      fromWallet: row.fromWallet,
      description: row.description,
      createdAt: row.createdAt,
    };
  }
}

export const CreditUsageConnection = connectionOf(CreditUsageOutput, 'CreditUsage', 'newest first');
