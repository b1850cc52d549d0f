import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { accountInScope } from '../common/account-scope';
import { encodeCursor, pageSize } from '../common/cursor';
import { Connection } from '../common/pagination';
import { PlanCode } from '../plans/plan-code.enum';
import { BillingPortalSessionOutput } from './dtos/billing-portal.output';
import { CheckoutSessionOutput, PlanChangeOutput } from './dtos/checkout-session.output';
import { CreditPurchaseConnection, CreditPurchaseOutput } from './dtos/credit-purchase.output';
import { SubscriptionOutput } from './dtos/subscription.output';
import { PurchasesService } from './purchases.service';
import { SubscriptionsService } from './subscriptions.service';

@Resolver()
export class BillingResolver {
  constructor(
    private readonly purchases: PurchasesService,
    private readonly subscriptions: SubscriptionsService,
  ) {}

  @Mutation(() => CheckoutSessionOutput)
  purchaseCredits(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args('packageId', { type: () => ID }) packageId: string,
  ): Promise<CheckoutSessionOutput> {
    return this.purchases.startCheckout(account.id, packageId);
  }

  @Mutation(() => PlanChangeOutput)
  changePlan(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args('plan', { type: () => PlanCode }) plan: PlanCode,
  ): Promise<PlanChangeOutput> {
    return this.subscriptions.changePlan(account.id, plan);
  }

  @Mutation(() => SubscriptionOutput)
  cancelSubscription(@CurrentAccount() account: AuthenticatedAccount): Promise<SubscriptionOutput> {
    return this.subscriptions.cancel(account.id);
  }

  @Mutation(() => BillingPortalSessionOutput, { description: 'a Stripe Customer Portal session for the caller' })
  async billingPortal(@CurrentAccount() account: AuthenticatedAccount): Promise<BillingPortalSessionOutput> {
    return { url: await this.subscriptions.portalUrl(account.id) };
  }

  @Query(() => CreditPurchaseConnection)
  async creditPurchases(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { nullable: true }) after?: string,
    @Args('accountId', { type: () => ID, nullable: true, description: 'admins only' }) accountId?: string,
  ): Promise<Connection<CreditPurchaseOutput>> {
    const page = await this.purchases.page(accountInScope(caller, accountId), pageSize(first), after);
    const edges = page.rows.map((row) => ({
      cursor: encodeCursor(`${row.createdAt.toISOString()}|${row.id}`),
      node: CreditPurchaseOutput.from(row),
    }));
    return { edges, pageInfo: { hasNextPage: page.more, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
