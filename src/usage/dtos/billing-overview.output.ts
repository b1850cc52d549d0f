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

  @Field(() => Date, {
    nullable: true,
    description:
      'when the allowance runs out if use goes on at the pace of the period so far; null when it lasts until the ' +
      'reset (or nothing was used yet, or it is unlimited)',
  })
  projectedExhaustionAt!: Date | null;
}

@ObjectType('UsageAlert', { description: 'a type reached 80 % or 100 % of its limit in the current period' })
export class UsageAlertOutput {
  @Field(() => CreditType)
  creditType!: CreditType;

  @Field(() => Int, { description: '80 or 100 (percent of the limit)' })
  threshold!: number;

  @Field(() => Int)
  used!: number;

  @Field(() => Int)
  limit!: number;

  @Field()
  reachedAt!: Date;
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

  @Field(() => [UsageAlertOutput], { description: 'the usage alerts recorded in the current period, in the order they were reached' })
  alerts!: UsageAlertOutput[];

  @Field()
  upgradeUrl!: string;

  @Field()
  purchaseUrl!: string;
}
