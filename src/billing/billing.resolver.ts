import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { notImplemented } from '../common/common.exception';
import { Connection } from '../common/pagination';
import { PlanCode } from '../plans/plan-code.enum';
import { CheckoutSessionOutput, PlanChangeOutput } from './dtos/checkout-session.output';
import { CreditPurchaseConnection, CreditPurchaseOutput } from './dtos/credit-purchase.output';
import { SubscriptionOutput } from './dtos/subscription.output';

@Resolver()
export class BillingResolver {
  @Mutation(() => CheckoutSessionOutput)
  purchaseCredits(@Args('packageId', { type: () => ID }) _packageId: string): Promise<CheckoutSessionOutput> {
    throw notImplemented('purchaseCredits');
  }

  @Mutation(() => PlanChangeOutput)
  changePlan(@Args('plan', { type: () => PlanCode }) _plan: PlanCode): Promise<PlanChangeOutput> {
    throw notImplemented('changePlan');
  }

  @Mutation(() => SubscriptionOutput)
  cancelSubscription(): Promise<SubscriptionOutput> {
    throw notImplemented('cancelSubscription');
  }

  @Query(() => CreditPurchaseConnection)
  creditPurchases(
    @Args('first', { type: () => Int, nullable: true }) _first?: number,
    @Args('after', { nullable: true }) _after?: string,
  ): Promise<Connection<CreditPurchaseOutput>> {
    throw notImplemented('creditPurchases');
  }
}
