import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../../common/pagination';
import { CreditType } from '../../credit-type.enum';
import { CreditUsageEntity } from '../../entities/credit-usage.entity';

@ObjectType('CreditUsage')
export class CreditUsageOutput {
  @Field(() => ID)
  id!: string;

  @Field(() => CreditType)
  creditType!: CreditType;

  @Field(() => Int)
  amount!: number;

  @Field(() => Int)
  fromAllowance!: number;

  @Field(() => Int)
  fromWallet!: number;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field()
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

export const CreditUsageConnection = connectionOf(CreditUsageOutput, 'CreditUsage');
