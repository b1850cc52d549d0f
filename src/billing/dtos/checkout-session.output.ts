import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { PlanSubscriptionOutput } from './plan-subscription.output';

@ObjectType('CheckoutSession', { description: 'a Stripe Checkout session to send the customer to' })
export class CheckoutSessionOutput {
  @Field({ description: "Stripe's id of the session" })
  sessionId!: string;

  @Field({ description: "Stripe's payment page" })
  url!: string;

  @Field(() => Int, { nullable: true, description: 'the wallet credits a package purchase adds; null for a plan' })
  credits!: number | null;
}

export enum PlanPaymentStatus {
  /** The payment was declined: the customer pays the invoice with another payment method. */
  FAILED = 'FAILED',
  /** The bank asks the customer to confirm the payment (3-D Secure). */
  REQUIRES_ACTION = 'REQUIRES_ACTION',
}
registerEnumType(PlanPaymentStatus, {
  name: 'PlanPaymentStatus',
  description: "why an upgrade's payment is not made yet",
  valuesMap: {
    FAILED: { description: 'the payment was declined: the customer pays the invoice with another payment method' },
    REQUIRES_ACTION: { description: 'the bank asks the customer to confirm the payment (3-D Secure)' },
  },
});

@ObjectType('PlanChangePayment', {
  description: 'an upgrade waiting for its payment: the plan stays as it is until the invoice is paid',
})
export class PlanChangePaymentOutput {
  @Field(() => PlanPaymentStatus, { description: 'what the payment waits for' })
  status!: PlanPaymentStatus;

  @Field(() => String, { nullable: true, description: "Stripe's page where the customer pays the invoice" })
  hostedInvoiceUrl!: string | null;
}

@ObjectType('PlanChange', {
  description: "changePlan's answer: a checkout URL when payment must be collected first, else the updated subscription",
})
export class PlanChangeOutput {
  @Field(() => String, {
    nullable: true,
    description: "Stripe Checkout's page, when the account has no subscription yet; null otherwise",
  })
  checkoutUrl!: string | null;

  @Field(() => PlanSubscriptionOutput, {
    nullable: true,
    description: 'the subscription after the change; null with a checkoutUrl',
  })
  subscription!: PlanSubscriptionOutput | null;

  @Field(() => PlanChangePaymentOutput, {
    nullable: true,
    description: "set when an upgrade's payment failed or needs the customer; the upgrade applies once it is paid",
  })
  payment?: PlanChangePaymentOutput | null;
}
