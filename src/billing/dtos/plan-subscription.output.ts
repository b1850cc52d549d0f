import { Field, ObjectType, registerEnumType } from '@nestjs/graphql';
import { SubscriptionStatus } from '../../accounts/entities/account.entity';
import { PlanOutput } from '../../plans/dtos/plan.output';

registerEnumType(SubscriptionStatus, {
  name: 'SubscriptionStatus',
  description: "the state of an account's plan subscription, as Stripe reports it",
  valuesMap: {
    ACTIVE: { description: 'in good standing (always so on FREE, which has no Stripe subscription)' },
    TRIALING: { description: 'in a Stripe trial: the plan applies as if paid' },
    PAST_DUE: {
      description:
        'an invoice is unpaid: the plan applies for a grace (PAST_DUE_GRACE_HOURS), then FREE limits until it is paid',
    },
    CANCELED: { description: "canceled in Stripe; once it ends the account is on FREE again (and ACTIVE)" },
    INCOMPLETE: { description: "the subscription's first payment is not made yet: FREE's allowance until it is" },
  },
});

/**
 * The account's plan subscription. Named PlanSubscription in GraphQL: a type named Subscription is what SDL tools
 * take for the schema's subscription root.
 */
@ObjectType('PlanSubscription', { description: "an account's plan, its status and its current period" })
export class PlanSubscriptionOutput {
  @Field(() => PlanOutput, { description: 'the plan whose limits the account has now' })
  plan!: PlanOutput;

  @Field(() => SubscriptionStatus, { description: 'whether the plan is paid for' })
  status!: SubscriptionStatus;

  @Field({ description: 'when the current period began' })
  currentPeriodStart!: Date;

  @Field({ description: 'when the current period ends: the allowance resets then, and a paid plan renews' })
  currentPeriodEnd!: Date;

  @Field({ description: "true when the subscription is canceled: the account moves to FREE at the period's end" })
  cancelAtPeriodEnd!: boolean;

  @Field(() => PlanOutput, {
    nullable: true,
    description: "the plan that takes over at the period's end, after a downgrade",
  })
  pendingPlan!: PlanOutput | null;
}
