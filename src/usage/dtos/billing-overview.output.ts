import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { SubscriptionOutput } from '../../billing/dtos/subscription.output';
import { CreditType } from '../../credits/credit-type.enum';
import { UsageLevel } from '../usage-level';

@ObjectType('CreditBalance')
export class CreditBalanceOutput {
  @Field(() => CreditType)
  creditType!: CreditType;

  @Field(() => Int, { nullable: true, description: 'null means unlimited' })
  limit!: number | null;

  @Field(() => Int)
  used!: number;

  @Field(() => Int)
  held!: number;

  @Field(() => Int, { nullable: true, description: 'null means unlimited' })
  remaining!: number | null;

  @Field(() => Float)
  percentUsed!: number;

  @Field(() => UsageLevel)
  level!: UsageLevel;

  @Field(() => Date, { nullable: true, description: 'null for PROJECT, which does not reset' })
  resetsAt!: Date | null;
}

@ObjectType('Wallet')
export class WalletOutput {
  @Field(() => Int)
  balance!: number;

  @Field(() => Int)
  totalPurchased!: number;

  @Field(() => Int)
  totalUsed!: number;
}

@ObjectType('BillingOverview')
export class BillingOverviewOutput {
  @Field(() => ID)
  accountId!: string;

  @Field(() => SubscriptionOutput)
  subscription!: SubscriptionOutput;

  @Field(() => [CreditBalanceOutput])
  balances!: CreditBalanceOutput[];

  @Field(() => WalletOutput)
  wallet!: WalletOutput;

  @Field(() => [String])
  warnings!: string[];

  @Field()
  upgradeUrl!: string;

  @Field()
  purchaseUrl!: string;
}
