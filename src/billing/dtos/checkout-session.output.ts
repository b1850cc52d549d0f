import { Field, Int, ObjectType } from '@nestjs/graphql';
import { SubscriptionOutput } from './subscription.output';

@ObjectType('CheckoutSession')
export class CheckoutSessionOutput {
  @Field()
  sessionId!: string;

  @Field()
  url!: string;

  @Field(() => Int, { nullable: true })
  credits!: number | null;
}

@ObjectType('PlanChange', {
  description: "changePlan's answer: a checkout URL when payment must be collected first, else the updated subscription",
})
export class PlanChangeOutput {
  @Field(() => String, { nullable: true })
  checkoutUrl!: string | null;

  @Field(() => SubscriptionOutput, { nullable: true })
  subscription!: SubscriptionOutput | null;
}
