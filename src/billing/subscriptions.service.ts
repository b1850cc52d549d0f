import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, EntityManager, FindOptionsWhere } from 'typeorm';
import { Clock } from '../common/clock';
import { inTransaction } from '../database/transaction';
import { AccountsService } from '../accounts/accounts.service';
import { AccountEntity, SubscriptionStatus } from '../accounts/entities/account.entity';
import { Period, periodAt } from '../accounts/period-math';
import { PlanEntity } from '../plans/entities/plan.entity';
import { PlanCode } from '../plans/plan-code.enum';
import { PlansService } from '../plans/plans.service';
import { UsageService } from '../usage/usage.service';
import { BillingErrorCode, BillingException } from './billing.exception';
import { PlanChangeOutput, PlanChangePaymentOutput, PlanPaymentStatus } from './dtos/checkout-session.output';
import { PlanSubscriptionOutput } from './dtos/plan-subscription.output';
import { ENDED_SUBSCRIPTION_STATUSES, RetiredSubscriptionsService } from './retired-subscriptions.service';
import { StripeGateway } from './stripe/stripe.gateway';
import { stripeId } from './stripe/stripe-ids';
import { CHECKOUT_ALREADY_COMPLETED, SubscriptionCheckoutsService } from './subscription-checkouts.service';

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

/** The invoices that pay for a billing period: the subscription's first, and each renewal. */
const PERIOD_INVOICES = new Set<string>(['subscription_create', 'subscription_cycle']);

/** Whether an invoice line bills a proration (a plan change inside a period) rather than a period. */
function isProration(line: Stripe.InvoiceLineItem): boolean {
  return Boolean(line.parent?.subscription_item_details?.proration || line.parent?.invoice_item_details?.proration);
}

/**
 * Whether the subscription ends with its current period: `cancel_at_period_end`, or, in flexible billing mode (where
 * the Customer Portal schedules an end-of-period cancellation), a `cancel_at` at or before the period's end.
 */
function cancelsByPeriodEnd(subscription: Stripe.Subscription, periodEnd: Date): boolean {
  if (subscription.cancel_at_period_end) return true;
  return typeof subscription.cancel_at === 'number' && seconds(subscription.cancel_at) <= periodEnd;
}

/**
 * Whether the account moves to Stripe's `period`: a later one than its own, or, when it `startsPaid` (a subscription
 * it begins to pay for), the paid period it is in, even when that began a moment before the account's own.
 */
function followsPeriod(account: AccountEntity, period: Period, startsPaid: boolean): boolean {
  if (period.start > account.currentPeriodStart) return true;
  return startsPaid && period.start.getTime() !== account.currentPeriodStart.getTime() && period.end > account.currentPeriodStart;
}

/** The period the account is in, as Stripe has it, ends when Stripe says: its end, when Stripe reports that period. */
function stripeEndOf(account: AccountEntity, period: Period | null): Partial<AccountEntity> {
  return period && period.start.getTime() === account.currentPeriodStart.getTime() ? { currentPeriodEnd: period.end } : {};
}

/** The moment Stripe's monthly billing cycle is aligned to (the end of a trial, a moved anchor), if it says. */
function billingAnchor(subscription: Stripe.Subscription): Date | null {
  return Number.isSafeInteger(subscription.billing_cycle_anchor) && subscription.billing_cycle_anchor > 0
    ? seconds(subscription.billing_cycle_anchor)
    : null;
}

/** What lifts a scheduled cancellation: clearing `cancel_at` (which the portal sets), else `cancel_at_period_end`. */
function resumeParameters(subscription: Stripe.Subscription): Stripe.SubscriptionUpdateParams {
  if (subscription.cancel_at) return { cancel_at: '' };
  if (subscription.cancel_at_period_end) return { cancel_at_period_end: false };
  return {};
}

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
    private readonly checkouts: SubscriptionCheckoutsService,
    private readonly retired: RetiredSubscriptionsService,
  ) {}

  /**
   * Without a live subscription, a paid plan starts with a subscription Checkout Session (its URL is returned; asked
   * again, the same open session). With one, an upgrade applies once Stripe has its prorated payment (the period's
   * allowance rises then; a declined payment, or one waiting for the customer, leaves the plan as it is and is
   * answered as `payment` with the hosted invoice URL), a downgrade at the period's end (shown as pendingPlan), and
   * a change to a paid plan resumes a scheduled cancellation; FREE cancels at the period's end.
   */
  async changePlan(accountId: string, planCode: PlanCode): Promise<PlanChangeOutput> {
    this.gateway.assertConfigured();
    const target = await this.plans.getPlan(planCode);
    const found = await this.accounts.current(accountId);
    const subscription = await this.liveSubscription(found);
    const account = subscription ? found : await this.accounts.current(accountId);
    const current = await this.plans.getPlan(account.planCode);

    if (!subscription) {
      if (target.code === PlanCode.FREE || target.code === account.planCode) {
        return { checkoutUrl: null, subscription: await this.usage.subscription(account) };
      }
      const checkoutUrl = await this.checkouts.open(account, target);
      if (checkoutUrl === CHECKOUT_ALREADY_COMPLETED) {
        // Paid a moment ago: the subscription arrives with Stripe's webhook; a second checkout would charge twice.
        return { checkoutUrl: null, subscription: await this.usage.subscription(account) };
      }
      return { checkoutUrl, subscription: null };
    }

    if (target.code === PlanCode.FREE) return { checkoutUrl: null, subscription: await this.cancel(accountId) };

    const item = subscription.items.data[0];
    const price = await this.gateway.priceByLookupKey(target.stripeLookupKey);
    // Compared with the plan paid for this period (while unpaid the account has FREE's limits; after a downgrade
    // Stripe already has the lower price).
    const subscribed = account.subscriptionPlanCode ? await this.plans.getPlan(account.subscriptionPlanCode) : current;
    const upgrade = target.rank > subscribed.rank;
    if (upgrade) {
      // Charged now, prorated, and applied by Stripe only once that invoice is paid: until then the subscription
      // (and the account) stay on their plan, and the customer is told where to pay.
      const updated = await this.gateway.call('change the subscription', (stripe) =>
        stripe.subscriptions.update(subscription.id, {
          items: [{ id: item.id, price: price.id }],
          proration_behavior: 'always_invoice',
          payment_behavior: 'pending_if_incomplete',
          expand: ['latest_invoice'],
        }),
      );
      if (updated.pending_update) {
        const payment = await this.pendingPayment(updated);
        return { checkoutUrl: null, subscription: await this.usage.subscription(account), payment };
      }
    }
    const resume = resumeParameters(subscription);
    if (!upgrade || Object.keys(resume).length > 0) {
      // A downgrade keeps the paid period and bills the new price next time. A pending update may carry nothing but
      // the items, so resuming a cancellation follows the paid upgrade on its own.
      await this.gateway.call('change the subscription', (stripe) =>
        stripe.subscriptions.update(subscription.id, {
          ...(!upgrade && { items: [{ id: item.id, price: price.id }], proration_behavior: 'none' as const }),
          ...(!upgrade && { metadata: { accountId, plan: target.code } }),
          ...resume,
        }),
      );
    }

    await inTransaction(this.dataSource, async (manager) => {
      await this.accounts.lock(manager, accountId);
      await this.accounts.update(manager, accountId, {
        cancelAtPeriodEnd: false,
        pendingPlanCode: upgrade || target.code === subscribed.code ? null : target.code,
        subscriptionPlanCode: upgrade ? target.code : subscribed.code,
      });
      // Paid: the period's allowance rises at once (unless the subscription's own period is unpaid).
      if (upgrade) await this.accounts.entitle(manager, accountId, this.clock.now());
    });
    return { checkoutUrl: null, subscription: await this.usage.subscription(await this.accounts.current(accountId)) };
  }

  /** Why an upgrade's invoice is not paid yet (declined, or waiting for the customer to authenticate) and where to pay it. */
  private async pendingPayment(subscription: Stripe.Subscription): Promise<PlanChangePaymentOutput> {
    const invoice = typeof subscription.latest_invoice === 'object' ? subscription.latest_invoice : null;
    let status = PlanPaymentStatus.FAILED;
    if (invoice) {
      const payments = await this.gateway
        .call('read the invoice payments', (stripe) =>
          stripe.invoicePayments.list({ invoice: invoice.id, expand: ['data.payment.payment_intent'] }),
        )
        .catch(() => null);
      const needsCustomer = payments?.data.some((payment) => {
        const intent = payment.payment.payment_intent;
        return typeof intent === 'object' && (intent.status === 'requires_action' || intent.status === 'requires_confirmation');
      });
      if (needsCustomer) status = PlanPaymentStatus.REQUIRES_ACTION;
    }
    this.logger.log(`Upgrade of subscription ${subscription.id} waits for its payment (${status})`);
    return { status, hostedInvoiceUrl: invoice?.hosted_invoice_url ?? null };
  }

  /** Cancels at the period's end: the plan stays until then, then the account returns to FREE. */
  async cancel(accountId: string): Promise<PlanSubscriptionOutput> {
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
   * same period is an upgrade now; a lower one waits for the period's end. The status sets the limits: the plan's
   * while paid (past due: for PAST_DUE_GRACE_HOURS), FREE's while incomplete or past the grace. A `cancel_at` at or
   * before the period's end (the Customer Portal's cancellation in flexible billing mode) is canceling.
   *
   * One live subscription per account: a deletion is final, whatever order events arrive in (an ended subscription
   * never drives the account again), and a second live subscription is retired as a duplicate, to be cancelled and
   * refunded once this transaction has committed.
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
    if (await this.retired.isRetired(manager, subscription.id)) {
      this.logger.log(`Ignoring ${eventType} for ${account.id}: subscription ${subscription.id} has ended or is a duplicate`);
      return false;
    }
    const now = this.clock.now();
    const status = STATUS[subscription.status] ?? SubscriptionStatus.INCOMPLETE;
    const currentId = account.stripeSubscriptionId;

    if (eventType === 'customer.subscription.deleted' || status === SubscriptionStatus.CANCELED) {
      await this.retired.retire(manager, account.id, subscription.id, 'ENDED');
      if (currentId !== subscription.id) return false;
      await this.endSubscription(manager, account, eventCreated);
      return true;
    }
    if (currentId && currentId !== subscription.id) {
      await this.retired.retire(manager, account.id, subscription.id, 'DUPLICATE');
      this.logger.warn(
        `Account ${account.id} already has subscription ${currentId}: ${subscription.id} will be cancelled and refunded`,
      );
      return true;
    }
    if (account.stripeStateAt && eventCreated < account.stripeStateAt) {
      this.logger.log(`Ignoring ${eventType} for ${account.id}: older than the state already applied`);
      return false;
    }

    const subscribed = account.subscriptionPlanCode ?? account.planCode;
    const plan = (await this.planOf(subscription, manager)) ?? (await this.plans.getPlan(subscribed, manager));
    const period = subscriptionPeriod(subscription);
    const changes: Partial<AccountEntity> = {
      status,
      stripeSubscriptionId: subscription.id,
      stripeCustomerId: stripeId(subscription.customer) ?? account.stripeCustomerId,
      stripeStateAt: eventCreated,
      cancelAtPeriodEnd: cancelsByPeriodEnd(subscription, period?.end ?? account.currentPeriodEnd),
      pastDueSince: status === SubscriptionStatus.PAST_DUE ? (account.pastDueSince ?? now) : null,
    };
    // A new billing period, or a subscription now paid for: the account follows Stripe's period from now on, with
    // the allowance of the plan it has paid for. A subscription whose first payment is not made starts nothing.
    const attaching = account.stripeSubscriptionId !== subscription.id;
    const entitled = this.accounts.entitledPlan({ ...account, ...changes, subscriptionPlanCode: plan.code }, now);
    const startsPaid = entitled !== PlanCode.FREE && (attaching || account.planCode === PlanCode.FREE);
    if (period && status !== SubscriptionStatus.INCOMPLETE && followsPeriod(account, period, startsPaid)) {
      await this.accounts.startPeriod(manager, account, period, entitled, now, {
        ...changes,
        subscriptionPlanCode: plan.code,
        periodAnchor: billingAnchor(subscription) ?? period.start,
      });
      return true;
    }
    Object.assign(changes, stripeEndOf(account, period));
    const current = await this.plans.getPlan(subscribed, manager);
    if (plan.rank > current.rank || attaching) {
      // Stripe applies our upgrades only once their invoice is paid (a pending update until then).
      await this.accounts.update(manager, account.id, {
        ...changes,
        subscriptionPlanCode: plan.code,
        pendingPlanCode: null,
      });
    } else {
      await this.accounts.update(manager, account.id, {
        ...changes,
        subscriptionPlanCode: current.code,
        pendingPlanCode: plan.code === current.code ? null : plan.code,
      });
    }
    // The status decides the limits: the paid plan's while paid (or within the grace), FREE's otherwise.
    await this.accounts.entitle(manager, account.id, now);
    return true;
  }

  /**
   * invoice.paid: a subscription invoice for a new period renews the account (once per period), and one for the
   * current period restores the plan of an account that fell back to FREE while unpaid. Only period invoices
   * (`subscription_create`, `subscription_cycle`) count; an upgrade's proration invoice starts nothing. Invoices of
   * any subscription but the account's current one change nothing.
   */
  async applyInvoicePaid(manager: EntityManager, invoice: Stripe.Invoice, eventCreated: Date): Promise<boolean> {
    const subscriptionId = this.invoiceSubscription(invoice);
    if (!subscriptionId) return false;
    const account = await this.accountFor(manager, invoice.metadata?.accountId, stripeId(invoice.customer), subscriptionId);
    if (!account) return false;
    if (account.stripeSubscriptionId !== subscriptionId) {
      // Only the account's current subscription renews it. A duplicate's payment is refunded like the first one.
      const duplicate = await this.retired.reopenDuplicate(manager, subscriptionId);
      this.logger.log(`Ignoring invoice ${invoice.id} for ${account.id}: ${subscriptionId} is not its current subscription`);
      return duplicate;
    }
    // Only a period's own invoice pays for a period. An upgrade's (subscription_update) bills prorations from the
    // moment of the change: it starts nothing, and Stripe reports the upgrade itself with the subscription.
    if (!PERIOD_INVOICES.has(invoice.billing_reason ?? '')) return false;
    const line = invoice.lines?.data?.find((entry) => entry.period && !isProration(entry));
    const period = line?.period ? { start: seconds(line.period.start), end: seconds(line.period.end) } : null;
    const newer = !account.stripeStateAt || eventCreated > account.stripeStateAt;
    const now = this.clock.now();
    const startsPeriod = period !== null && followsPeriod(account, period, account.planCode === PlanCode.FREE);
    // An invoice older than the state applied (a retried delivery) says nothing about today's status: it pays its
    // own period only, and never makes a subscription that has fallen past due since active again.
    const changes: Partial<AccountEntity> = {
      ...((newer || startsPeriod) && { status: SubscriptionStatus.ACTIVE, pastDueSince: null }),
      stripeSubscriptionId: subscriptionId,
      ...(newer && { stripeStateAt: eventCreated }),
    };
    if (period && startsPeriod) {
      const plan = account.pendingPlanCode ?? account.subscriptionPlanCode ?? account.planCode;
      // The billing anchor stays the subscription's: a period's start is not one (a trial's end, a clamped day).
      await this.accounts.startPeriod(manager, account, period, plan, now, { ...changes, subscriptionPlanCode: plan });
    } else {
      Object.assign(changes, stripeEndOf(account, period));
      // The period is paid: an account that fell back to FREE while unpaid has its plan again.
      await this.accounts.update(manager, account.id, changes);
      await this.accounts.entitle(manager, account.id, now);
    }
    return true;
  }

  /**
   * invoice.payment_failed: a period's invoice makes the subscription past due (incomplete for the first) until a
   * payment succeeds; a declined upgrade changes nothing.
   */
  async applyPaymentFailed(manager: EntityManager, invoice: Stripe.Invoice): Promise<boolean> {
    const subscriptionId = this.invoiceSubscription(invoice);
    if (!subscriptionId) return false;
    const account = await this.accountFor(manager, invoice.metadata?.accountId, stripeId(invoice.customer), subscriptionId);
    if (!account || account.stripeSubscriptionId !== subscriptionId) return false;
    // A declined upgrade stays a pending update in Stripe: the subscription and its paid period are unchanged.
    if (invoice.billing_reason === 'subscription_update') return false;
    const now = this.clock.now();
    const status =
      invoice.billing_reason === 'subscription_create' ? SubscriptionStatus.INCOMPLETE : SubscriptionStatus.PAST_DUE;
    await this.accounts.update(manager, account.id, {
      status,
      pastDueSince: status === SubscriptionStatus.PAST_DUE ? (account.pastDueSince ?? now) : null,
    });
    await this.accounts.entitle(manager, account.id, now);
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

  /**
   * The account's subscription as Stripe has it, or null when the account has no live one. A subscription Stripe
   * says has ended (its deletion event late or lost) is detached here, as that event would have done.
   */
  private async liveSubscription(account: AccountEntity): Promise<Stripe.Subscription | null> {
    const subscriptionId = account.stripeSubscriptionId;
    if (!subscriptionId) return null;
    const subscription = await this.gateway.call('read the subscription', (stripe) =>
      stripe.subscriptions.retrieve(subscriptionId).catch((error: { code?: string }) => {
        if (error.code === 'resource_missing') return null;
        throw error;
      }),
    );
    if (subscription && !ENDED_SUBSCRIPTION_STATUSES.has(subscription.status)) return subscription;
    this.logger.warn(`Subscription ${subscriptionId} of ${account.id} has ended in Stripe; detaching it`);
    await inTransaction(this.dataSource, async (manager) => {
      const locked = await this.accounts.lock(manager, account.id);
      if (locked?.stripeSubscriptionId !== subscriptionId) return;
      await this.retired.retire(manager, account.id, subscriptionId, 'ENDED');
      await this.endSubscription(manager, locked, null);
    });
    return null;
  }

  /**
   * The paid plan has ended: the account returns to FREE, a FREE period starting now (an account already on FREE,
   * moved there by the renewal at its period's end, keeps its period). The caller holds the account lock.
   */
  private async endSubscription(manager: EntityManager, account: AccountEntity, stripeStateAt: Date | null): Promise<void> {
    const now = this.clock.now();
    const changes: Partial<AccountEntity> = {
      status: SubscriptionStatus.ACTIVE,
      stripeSubscriptionId: null,
      subscriptionPlanCode: null,
      pastDueSince: null,
      ...(stripeStateAt && { stripeStateAt }),
    };
    if (account.planCode === PlanCode.FREE) {
      await this.accounts.update(manager, account.id, { ...changes, cancelAtPeriodEnd: false, pendingPlanCode: null });
      return;
    }
    await this.accounts.startPeriod(manager, account, periodAt(now, now), PlanCode.FREE, now, {
      ...changes,
      periodAnchor: now,
    });
  }

  /**
   * The account an object belongs to, locked: the one holding the subscription id, else the Stripe customer's, else
   * the one our metadata names. The subscription id comes first: metadata can be edited (or copied) in Stripe, and
   * naming another account must not move a subscription away from the account that has it.
   */
  private async accountFor(
    manager: EntityManager,
    accountId: string | undefined,
    customer: string | null,
    subscriptionId: string,
  ): Promise<AccountEntity | null> {
    // Only conditions with a value: TypeORM reads an undefined condition as "any row".
    const candidates: Array<FindOptionsWhere<AccountEntity>> = [];
    if (typeof subscriptionId === 'string' && subscriptionId) candidates.push({ stripeSubscriptionId: subscriptionId });
    if (typeof customer === 'string' && customer) candidates.push({ stripeCustomerId: customer });
    if (typeof accountId === 'string' && accountId) candidates.push({ id: accountId });
    for (const where of candidates) {
      // FOR NO KEY UPDATE, as AccountsService.lock explains.
      const found = await manager.findOne(AccountEntity, { where, lock: { mode: 'for_no_key_update' } });
      if (!found) continue;
      if (typeof accountId === 'string' && accountId && found.id !== accountId) {
        this.logger.warn(`Stripe subscription ${subscriptionId} names account ${accountId} but belongs to ${found.id}`);
      }
      return found;
    }
    this.logger.warn(`No account for Stripe subscription ${subscriptionId}`);
    return null;
  }
}
