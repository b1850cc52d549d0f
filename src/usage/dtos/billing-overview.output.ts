import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { PlanSubscriptionOutput } from '../../billing/dtos/plan-subscription.output';
import { CreditType } from '../../credits/credit-type.enum';
import { UsageLevel } from '../usage-level';

@ObjectType('CreditBalance', { description: "one type's use of the current period against the plan's limit" })
export class CreditBalanceOutput {
  @Field(() => CreditType, { description: 'the type' })
  creditType!: CreditType;

  @Field(() => Int, { nullable: true, description: 'null means unlimited' })
  limit!: number | null;

  @Field(() => Int, {
    description: "of the period's allowance, units used (PROJECT: units in use, one per existing project)",
  })
  used!: number;

  @Field(() => Int, { description: 'units reserved by operations still running' })
  held!: number;

  @Field(() => Int, { nullable: true, description: 'null means unlimited' })
  remaining!: number | null;

  @Field(() => Float, { description: 'used as a percentage of the limit, two decimals; 0 when unlimited' })
  percentUsed!: number;

  @Field(() => UsageLevel, { description: 'the colour of the progress bar' })
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
  @Field(() => CreditType, { description: 'the type' })
  creditType!: CreditType;

  @Field(() => Int, { description: '80 or 100 (percent of the limit)' })
  threshold!: number;

  @Field(() => Int, { description: 'units used when it was reached' })
  used!: number;

  @Field(() => Int, { description: 'the limit then' })
  limit!: number;

  @Field({ description: 'when it was reached' })
  reachedAt!: Date;
}

@ObjectType('Wallet', {
  description:
    "purchased and granted credits that pay for MESSAGE and INTEGRATION use once the period's allowance is used up",
})
export class WalletOutput {
  @Field(() => Int, { description: 'wallet credits available now' })
  balance!: number;

  @Field(() => Int, { description: 'wallet credits ever purchased' })
  totalPurchased!: number;

  @Field(() => Int, { description: 'wallet credits ever spent on use' })
  totalUsed!: number;
}

@ObjectType('BillingOverview', { description: "what a dashboard shows of an account's billing" })
export class BillingOverviewOutput {
  @Field(() => ID, { description: 'the account' })
  accountId!: string;

  @Field(() => PlanSubscriptionOutput, { description: 'its plan and current period' })
  subscription!: PlanSubscriptionOutput;

  @Field(() => [CreditBalanceOutput], { description: 'one balance per credit type: MESSAGE, INTEGRATION, PROJECT' })
  balances!: CreditBalanceOutput[];

  @Field(() => WalletOutput, { description: 'its wallet' })
  wallet!: WalletOutput;

  @Field(() => [String], {
    description: 'sentences for the account holder about types at WARNING or EXHAUSTED, and what to do next',
  })
  warnings!: string[];

  @Field(() => [UsageAlertOutput], { description: 'the usage alerts recorded in the current period, in the order they were reached' })
  alerts!: UsageAlertOutput[];

  @Field({ description: "the frontend's page for changing plans" })
  upgradeUrl!: string;

  @Field({ description: "the frontend's page for buying credit packages" })
  purchaseUrl!: string;
}
