import { Field, ObjectType, registerEnumType } from '@nestjs/graphql';
import { SubscriptionStatus } from '../../accounts/entities/account.entity';
import { PlanOutput } from '../../plans/dtos/plan.output';

registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus' });

@ObjectType('Subscription')
export class SubscriptionOutput {
  @Field(() => PlanOutput)
  plan!: PlanOutput;

  @Field(() => SubscriptionStatus)
  status!: SubscriptionStatus;

  @Field()
  currentPeriodStart!: Date;

  @Field()
  currentPeriodEnd!: Date;

  @Field()
  cancelAtPeriodEnd!: boolean;

  @Field(() => PlanOutput, {
    nullable: true,
    description: "the plan that takes over at the period's end, after a downgrade",
  })
  pendingPlan!: PlanOutput | null;
}
