import { Field, ObjectType } from '@nestjs/graphql';

@ObjectType('BillingPortalSession', { description: 'a Stripe Customer Portal session' })
export class BillingPortalSessionOutput {
  @Field({ description: "Stripe's Customer Portal page for this customer" })
  url!: string;
}
