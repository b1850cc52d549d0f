import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, EntityManager, FindOptionsWhere } from 'typeorm';
import { Clock } from '../common/clock';
import { inTransaction } from '../database/transaction';
import { AccountsService } from '../credits/accounts.service';
import { AccountEntity, SubscriptionStatus } from '../credits/entities/account.entity';
import { Period, periodAt } from '../credits/period-math';
import { PlanEntity } from '../plans/entities/plan.entity';
import { PlanCode } from '../plans/plan-code.enum';
import { PlansService } from '../plans/plans.service';
import { UsageService } from '../usage/usage.service';
import { BillingErrorCode, BillingException } from './billing.exception';
import { PlanChangeOutput } from './dtos/checkout-session.output';
import { SubscriptionOutput } from './dtos/subscription.output';
import { StripeGateway } from './stripe/stripe.gateway';
import { stripeId } from './stripe/stripe-ids';

const STATUS: Record<string, SubscriptionStatus> = {
  active: SubscriptionStatus.ACTIVE,
  trialing: SubscriptionStatus.TRIALING,
  past_due: SubscriptionStatus.PAST_DUE,
  unpaid: SubscriptionStatus.PAST_DUE,
  paused: SubscriptionStatus.PAST_DUE,
  incomplete: SubscriptionStatus.INCOMPLETE,
  incomplete_expired: SubscriptionStatus.CANCELED,
  canceled: SubscriptionStatus.CANCELED,
};

const seconds = (value: number) => new Date(value * 1000);

/** The subscription item's billing period (newer API versions keep it on the item, older on the subscription). */
function subscriptionPeriod(subscription: Stripe.Subscription): Period | null {
  const item = subscription.items?.data?.[0] as (Stripe.SubscriptionItem & Record<string, number>) | undefined;
  const legacy = subscription as unknown as Record<string, number | undefined>;
  const start = item?.current_period_start ?? legacy.current_period_start;
  const end = item?.current_period_end ?? legacy.current_period_end;
  return start && end ? { start: seconds(start), end: seconds(end) } : null;
}

/**
 * Plans paid through Stripe subscriptions. Changes made here go to Stripe first (no lock held meanwhile) and are
 * applied locally at once; the webhook keeps the local state in step with Stripe whatever order events arrive in.
 */
@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger(SubscriptionsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly gateway: StripeGateway,
    private readonly accounts: AccountsService,
    private readonly plans: PlansService,
    private readonly usage: UsageService,
    private readonly clock: Clock,
  ) {}

  /**
   * Without a subscription, a paid plan starts with a subscription Checkout Session (its URL is returned). With
   * one, an upgrade applies now (prorated, the period's allowance rises at once) and a downgrade at the period's
   * end (shown as pendingPlan); FREE cancels at the period's end.
   */
  async changePlan(accountId: string, planCode: PlanCode): Promise<PlanChangeOutput> {
    this.gateway.assertConfigured();
    const target = await this.plans.getPlan(planCode);
    const account = await this.accounts.current(accountId);
    const current = await this.plans.getPlan(account.planCode);

    if (!account.stripeSubscriptionId) {
      if (target.code === PlanCode.FREE || target.code === account.planCode) {
        return { checkoutUrl: null, subscription: await this.usage.subscription(account) };
      }
      const price = await this.gateway.priceByLookupKey(target.stripeLookupKey);
      const customer = await this.gateway.customerFor(account);
      const metadata = { accountId, plan: target.code };
      const session = await this.gateway.call('start the subscription checkout', (stripe) =>
        stripe.checkout.sessions.create({
          mode: 'subscription',
          customer,
          client_reference_id: accountId,
          line_items: [{ price: price.id, quantity: 1 }],
          metadata,
          subscription_data: { metadata },
          success_url: this.gateway.returnUrl('/billing/plans?checkout=success&session_id={CHECKOUT_SESSION_ID}'),
          cancel_url: this.gateway.returnUrl('/billing/plans?checkout=canceled'),
        }),
      );
      return { checkoutUrl: session.url, subscription: null };
    }

    if (target.code === PlanCode.FREE) return { checkoutUrl: null, subscription: await this.cancel(accountId) };

    const subscription = await this.gateway.call('read the subscription', (stripe) =>
      stripe.subscriptions.retrieve(account.stripeSubscriptionId!),
    );
    const item = subscription.items.data[0];
    const price = await this.gateway.priceByLookupKey(target.stripeLookupKey);
    const upgrade = target.rank > current.rank;
    await this.gateway.call('change the subscription', (stripe) =>
      stripe.subscriptions.update(account.stripeSubscriptionId!, {
        items: [{ id: item.id, price: price.id }],
        // An upgrade is charged now, prorated; a downgrade keeps the paid period and bills the new price next time.
        proration_behavior: upgrade ? 'always_invoice' : 'none',
        cancel_at_period_end: false,
        metadata: { accountId, plan: target.code },
      }),
    );

    await inTransaction(this.dataSource, async (manager) => {
      const locked = (await this.accounts.lock(manager, accountId))!;
      if (upgrade) await this.accounts.upgradeNow(manager, locked, target.code, this.clock.now());
      await this.accounts.update(manager, accountId, {
        cancelAtPeriodEnd: false,
        pendingPlanCode: upgrade || target.code === locked.planCode ? null : target.code,
      });
    });
    return { checkoutUrl: null, subscription: await this.usage.subscription(await this.accounts.current(accountId)) };
  }

  /** Cancels at the period's end: the plan stays until then, then the account returns to FREE. */
  async cancel(accountId: string): Promise<SubscriptionOutput> {
    this.gateway.assertConfigured();
    const account = await this.accounts.current(accountId);
    if (!account.stripeSubscriptionId) {
      throw new BillingException(BillingErrorCode.NO_SUBSCRIPTION, 'This account has no paid subscription to cancel.');
    }
    await this.gateway.call('cancel the subscription', (stripe) =>
      stripe.subscriptions.update(account.stripeSubscriptionId!, { cancel_at_period_end: true }),
    );
    await inTransaction(this.dataSource, (manager) =>
      this.accounts.update(manager, accountId, { cancelAtPeriodEnd: true, pendingPlanCode: null }),
    );
    return this.usage.subscription(await this.accounts.current(accountId));
  }

  /** A Stripe Customer Portal session where the customer manages payment methods and invoices. */
  async portalUrl(accountId: string): Promise<string> {
    this.gateway.assertConfigured();
    const customer = await this.gateway.customerFor(await this.accounts.current(accountId));
    const session = await this.gateway.call('open the billing portal', (stripe) =>
      stripe.billingPortal.sessions.create({ customer, return_url: this.gateway.returnUrl('/billing') }),
    );
    return session.url;
  }

  /**
   * customer.subscription.created / updated / deleted. An event older than the newest one applied is ignored, so
   * out-of-order delivery never rolls state back. A new billing period starts the period; a higher plan in the
   * same period is an upgrade now; a lower one waits for the period's end.
   */
  async applySubscription(
    manager: EntityManager,
    subscription: Stripe.Subscription,
    eventType: string,
    eventCreated: Date,
  ): Promise<boolean> {
    if (typeof subscription.id !== 'string' || typeof subscription.status !== 'string') return false;
    const account = await this.accountFor(manager, subscription.metadata?.accountId, stripeId(subscription.customer), subscription.id);
    if (!account) return false;
    if (account.stripeStateAt && eventCreated < account.stripeStateAt) {
      this.logger.log(`Ignoring ${eventType} for ${account.id}: older than the state already applied`);
      return false;
    }
    const now = this.clock.now();
    const status = STATUS[subscription.status] ?? SubscriptionStatus.INCOMPLETE;

    if (eventType === 'customer.subscription.deleted' || status === SubscriptionStatus.CANCELED) {
      if (account.stripeSubscriptionId && account.stripeSubscriptionId !== subscription.id) return false;
      // The paid plan has ended: a FREE period starts now.
      await this.accounts.startPeriod(manager, account, periodAt(now, now), PlanCode.FREE, now, {
        periodAnchor: now,
        status: SubscriptionStatus.ACTIVE,
        stripeSubscriptionId: null,
        stripeStateAt: eventCreated,
      });
      return true;
    }

    const plan = (await this.planOf(subscription, manager)) ?? (await this.plans.getPlan(account.planCode, manager));
    const period = subscriptionPeriod(subscription);
    const changes: Partial<AccountEntity> = {
      status,
      stripeSubscriptionId: subscription.id,
      stripeCustomerId: stripeId(subscription.customer) ?? account.stripeCustomerId,
      stripeStateAt: eventCreated,
      cancelAtPeriodEnd: Boolean(subscription.cancel_at_period_end),
    };
    // A new subscription, or a new billing period of this one: the account follows Stripe's period from now on.
    const attaching = account.stripeSubscriptionId !== subscription.id;
    if (period && (attaching || period.start > account.currentPeriodStart)) {
      await this.accounts.startPeriod(manager, account, period, plan.code, now, { ...changes, periodAnchor: period.start });
      return true;
    }
    const current = await this.plans.getPlan(account.planCode, manager);
    if (plan.rank > current.rank) {
      await this.accounts.upgradeNow(manager, account, plan.code, now);
      await this.accounts.update(manager, account.id, changes);
    } else {
      await this.accounts.update(manager, account.id, {
        ...changes,
        pendingPlanCode: plan.code === current.code ? null : plan.code,
        ...(period && { currentPeriodEnd: period.end }),
      });
    }
    return true;
  }

  /** invoice.paid: a subscription invoice for a new period renews the account (once per period). */
  async applyInvoicePaid(manager: EntityManager, invoice: Stripe.Invoice, eventCreated: Date): Promise<boolean> {
    const subscriptionId = this.invoiceSubscription(invoice);
    if (!subscriptionId) return false;
    const account = await this.accountFor(manager, invoice.metadata?.accountId, stripeId(invoice.customer), subscriptionId);
    if (!account) return false;
    const line = invoice.lines?.data?.find((entry) => entry.period) ?? invoice.lines?.data?.[0];
    const period = line?.period ? { start: seconds(line.period.start), end: seconds(line.period.end) } : null;
    const newer = !account.stripeStateAt || eventCreated > account.stripeStateAt;
    const changes: Partial<AccountEntity> = {
      status: SubscriptionStatus.ACTIVE,
      stripeSubscriptionId: subscriptionId,
      ...(newer && { stripeStateAt: eventCreated }),
    };
    if (period && period.start > account.currentPeriodStart) {
      const plan = account.pendingPlanCode ?? account.planCode;
      await this.accounts.startPeriod(manager, account, period, plan, this.clock.now(), {
        ...changes,
        periodAnchor: period.start,
      });
    } else {
      await this.accounts.update(manager, account.id, changes);
    }
    return true;
  }

  /** invoice.payment_failed: the subscription is past due until a payment succeeds. */
  async applyPaymentFailed(manager: EntityManager, invoice: Stripe.Invoice): Promise<boolean> {
    const subscriptionId = this.invoiceSubscription(invoice);
    if (!subscriptionId) return false;
    const account = await this.accountFor(manager, invoice.metadata?.accountId, stripeId(invoice.customer), subscriptionId);
    if (!account) return false;
    await this.accounts.update(manager, account.id, { status: SubscriptionStatus.PAST_DUE });
    return true;
  }

  private invoiceSubscription(invoice: Stripe.Invoice): string | null {
    const parent = (invoice as { parent?: { subscription_details?: { subscription?: string | { id: string } } } })
      .parent;
    const legacy = (invoice as unknown as { subscription?: string | { id: string } }).subscription;
    return stripeId(parent?.subscription_details?.subscription ?? legacy ?? null);
  }

  private async planOf(subscription: Stripe.Subscription, manager: EntityManager): Promise<PlanEntity | null> {
    const lookupKey = subscription.items?.data?.[0]?.price?.lookup_key;
    const all = await this.plans.listPlans(manager);
    return (
      all.find((plan) => lookupKey && plan.stripeLookupKey === lookupKey) ??
      all.find((plan) => plan.code === subscription.metadata?.plan) ??
      null
    );
  }

  /** The account an object belongs to, locked: by our metadata, the subscription id or the Stripe customer. */
  private async accountFor(
    manager: EntityManager,
    accountId: string | undefined,
    customer: string | null,
    subscriptionId: string,
  ): Promise<AccountEntity | null> {
    // Only conditions with a value: TypeORM reads an undefined condition as "any row".
    const candidates: Array<FindOptionsWhere<AccountEntity>> = [];
    if (typeof accountId === 'string' && accountId) candidates.push({ id: accountId });
    if (typeof subscriptionId === 'string' && subscriptionId) candidates.push({ stripeSubscriptionId: subscriptionId });
    if (typeof customer === 'string' && customer) candidates.push({ stripeCustomerId: customer });
    for (const where of candidates) {
      const found = await manager.findOne(AccountEntity, { where, lock: { mode: 'pessimistic_write' } });
      if (found) return found;
    }
    this.logger.warn(`No account for Stripe subscription ${subscriptionId}`);
    return null;
  }
}
