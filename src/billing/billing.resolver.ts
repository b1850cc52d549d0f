import { Inject } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentAccount } from '../auth/current-account.decorator';
import { Public } from '../auth/public.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { ACCOUNT_ARG, accountInScope } from '../common/account-scope';
import { encodeCreationCursor, pageSize } from '../common/cursor';
import { Connection, connectionFrom, PAGE_ARGS } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { PlanCode } from '../plans/plan-code.enum';
import { BillingPortalSessionOutput } from './dtos/billing-portal.output';
import { CheckoutSessionOutput, PlanChangeOutput } from './dtos/checkout-session.output';
import { CreditPurchaseConnection, CreditPurchaseOutput } from './dtos/credit-purchase.output';
import { PlanSubscriptionOutput } from './dtos/plan-subscription.output';
import { PurchasesService } from './purchases.service';
import { SubscriptionsService } from './subscriptions.service';

@Resolver()
export class BillingResolver {
  constructor(
    private readonly purchases: PurchasesService,
    private readonly subscriptions: SubscriptionsService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  @Public()
  @Query(() => Boolean, {
    description:
      'true when payments are simulated: this development server talks to its local Stripe, whose checkout pages ' +
      'take no card and charge nothing; no token needed',
  })
  paymentsSimulated(): boolean {
    return this.config.paymentsSimulated;
  }

  @Mutation(() => CheckoutSessionOutput, {
    description:
      "starts a Stripe Checkout for a credit package; its credits enter the caller's wallet once Stripe has the payment",
  })
  purchaseCredits(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args('packageId', { type: () => ID, description: 'the id of one of creditPackages' }) packageId: string,
  ): Promise<CheckoutSessionOutput> {
    return this.purchases.startCheckout(account.id, packageId);
  }

  @Mutation(() => PlanChangeOutput, {
    description:
      "moves the caller to another plan: without a subscription, a Stripe Checkout for it; an upgrade applies once " +
      "Stripe has its payment, the period going on; a downgrade takes effect at the period's end",
  })
  changePlan(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args('plan', { type: () => PlanCode, description: 'the plan to move to' }) plan: PlanCode,
  ): Promise<PlanChangeOutput> {
    return this.subscriptions.changePlan(account.id, plan);
  }

  @Mutation(() => PlanSubscriptionOutput, {
    description: "cancels the caller's plan subscription at the period's end, when the account moves to FREE",
  })
  cancelSubscription(@CurrentAccount() account: AuthenticatedAccount): Promise<PlanSubscriptionOutput> {
    return this.subscriptions.cancel(account.id);
  }

  @Mutation(() => BillingPortalSessionOutput, { description: 'a Stripe Customer Portal session for the caller' })
  async billingPortal(@CurrentAccount() account: AuthenticatedAccount): Promise<BillingPortalSessionOutput> {
    return { url: await this.subscriptions.portalUrl(account.id) };
  }

  @Query(() => CreditPurchaseConnection, { description: "the account's credit package purchases, newest first" })
  async creditPurchases(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('first', PAGE_ARGS.first) first?: number,
    @Args('after', PAGE_ARGS.after) after?: string,
    @Args('accountId', ACCOUNT_ARG) accountId?: string,
  ): Promise<Connection<CreditPurchaseOutput>> {
    const page = await this.purchases.page(accountInScope(caller, accountId), pageSize(first), after);
    return connectionFrom(page, encodeCreationCursor, CreditPurchaseOutput.from);
  }
}
