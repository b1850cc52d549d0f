import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
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

export enum PlanPaymentStatus {
  /** The payment was declined: the customer pays the invoice with another payment method. */
  FAILED = 'FAILED',
  /** The bank asks the customer to confirm the payment (3-D Secure). */
  REQUIRES_ACTION = 'REQUIRES_ACTION',
}
registerEnumType(PlanPaymentStatus, { name: 'PlanPaymentStatus' });

@ObjectType('PlanChangePayment', {
  description: 'an upgrade waiting for its payment: the plan stays as it is until the invoice is paid',
})
export class PlanChangePaymentOutput {
  @Field(() => PlanPaymentStatus)
  status!: PlanPaymentStatus;

  @Field(() => String, { nullable: true, description: "Stripe's page where the customer pays the invoice" })
  hostedInvoiceUrl!: string | null;
}

@ObjectType('PlanChange', {
  description: "changePlan's answer: a checkout URL when payment must be collected first, else the updated subscription",
})
export class PlanChangeOutput {
  @Field(() => String, { nullable: true })
  checkoutUrl!: string | null;

  @Field(() => SubscriptionOutput, { nullable: true })
  subscription!: SubscriptionOutput | null;

  @Field(() => PlanChangePaymentOutput, {
    nullable: true,
    description: "set when an upgrade's payment failed or needs the customer; the upgrade applies once it is paid",
  })
  payment?: PlanChangePaymentOutput | null;
}
