import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { EntityManager, IsNull, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { AccountEntity } from '../accounts/entities/account.entity';
import { PlanEntity } from '../plans/entities/plan.entity';
import { SubscriptionCheckoutEntity, SubscriptionCheckoutStatus } from './entities/subscription-checkout.entity';
import { StripeGateway } from './stripe/stripe.gateway';

/** A session this close to its expiry is not handed out again: the customer needs the time to pay. */
const REUSE_MARGIN_MS = 15 * 60_000;

/** The customer already paid through the open session; their subscription is on its way (the webhook brings it). */
export const CHECKOUT_ALREADY_COMPLETED = Symbol('CHECKOUT_ALREADY_COMPLETED');

/**
 * Subscription Checkout Sessions, at most one open per account and plan: asking again for the same plan answers the
 * session already open. Concurrent requests share one reservation row, and so one idempotency key, so Stripe creates
 * the session once.
 */
@Injectable()
export class SubscriptionCheckoutsService {
  private readonly logger = new Logger(SubscriptionCheckoutsService.name);

  constructor(
    private readonly gateway: StripeGateway,
    private readonly clock: Clock,
    @InjectRepository(SubscriptionCheckoutEntity) private readonly checkouts: Repository<SubscriptionCheckoutEntity>,
  ) {}

  /** The URL of the account's open checkout for `plan`, opened now if there is none. */
  async open(account: AccountEntity, plan: PlanEntity): Promise<string | typeof CHECKOUT_ALREADY_COMPLETED> {
    const price = await this.gateway.priceByLookupKey(plan.stripeLookupKey);
    const customer = await this.gateway.customerFor(account);
    // Twice at most: an open row whose session turned out expired is closed, and a new one reserved.
    for (let attempt = 0; attempt < 3; attempt++) {
      const checkout = await this.reserve(account.id, plan);
      if (!checkout) continue;
      if (!checkout.stripeCheckoutSessionId) return this.create(checkout, price.id, customer);
      const state = await this.refresh(checkout);
      if (state === 'OPEN') return checkout.url!;
      if (state === 'COMPLETE') return CHECKOUT_ALREADY_COMPLETED;
    }
    throw new Error(`Could not open a subscription checkout for ${account.id}`);
  }

  /** A session completed or expired (from the webhook). Returns whether it was one of ours still open. */
  async close(manager: EntityManager, sessionId: string, status: Exclude<SubscriptionCheckoutStatus, 'OPEN'>): Promise<boolean> {
    const result = await manager.update(
      SubscriptionCheckoutEntity,
      { stripeCheckoutSessionId: sessionId, status: 'OPEN' },
      { status, closedAt: this.clock.now() },
    );
    return (result.affected ?? 0) > 0;
  }

  /** The account's OPEN row for the plan: the existing one, or a new reservation (without a session yet). */
  private async reserve(accountId: string, plan: PlanEntity): Promise<SubscriptionCheckoutEntity | null> {
    await this.checkouts.query(
      `INSERT INTO subscription_checkouts (id, account_id, plan_code, status, created_at)
       VALUES ($1, $2, $3, 'OPEN', $4)
       ON CONFLICT (account_id, plan_code) WHERE status = 'OPEN' DO NOTHING`,
      [randomUUID(), accountId, plan.code, this.clock.now()],
    );
    return this.checkouts.findOneBy({ accountId, planCode: plan.code, status: 'OPEN' });
  }

  private async create(checkout: SubscriptionCheckoutEntity, priceId: string, customer: string): Promise<string> {
    const metadata = { accountId: checkout.accountId, plan: checkout.planCode };
    let session: Stripe.Checkout.Session;
    try {
      session = await this.gateway.call('start the subscription checkout', (stripe) =>
        stripe.checkout.sessions.create(
          {
            mode: 'subscription',
            customer,
            client_reference_id: checkout.accountId,
            line_items: [{ price: priceId, quantity: 1 }],
            metadata,
            subscription_data: { metadata },
            success_url: this.gateway.returnUrl('/billing/plans?checkout=success&session_id={CHECKOUT_SESSION_ID}'),
            cancel_url: this.gateway.returnUrl('/billing/plans?checkout=canceled'),
          },
          { idempotencyKey: `subscription-checkout:${checkout.id}` },
        ),
      );
    } catch (error) {
      // Stripe answers a key's failure again to every retry: the next attempt reserves anew, with a new key.
      await this.checkouts.delete({ id: checkout.id, stripeCheckoutSessionId: IsNull() });
      throw error;
    }
    if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a URL`);
    await this.checkouts.update(
      { id: checkout.id, status: 'OPEN' },
      { stripeCheckoutSessionId: session.id, url: session.url, expiresAt: new Date(session.expires_at * 1000) },
    );
    return session.url;
  }

  /** Whether an OPEN row's session can still be paid; closes the row when it cannot. */
  private async refresh(checkout: SubscriptionCheckoutEntity): Promise<SubscriptionCheckoutStatus> {
    const sessionId = checkout.stripeCheckoutSessionId!;
    let status: SubscriptionCheckoutStatus = 'EXPIRED';
    if (checkout.expiresAt && checkout.expiresAt.getTime() - this.clock.now().getTime() > REUSE_MARGIN_MS) {
      const session = await this.gateway.call('read the subscription checkout', (stripe) =>
        stripe.checkout.sessions.retrieve(sessionId),
      );
      if (session.status === 'open' && session.url) return 'OPEN';
      if (session.status === 'complete') status = 'COMPLETE';
    } else {
      // About to expire: close it in Stripe too, so that it cannot be paid beside the new one.
      await this.gateway
        .call('expire the subscription checkout', (stripe) => stripe.checkout.sessions.expire(sessionId))
        .catch((error: Error) => this.logger.warn(`Checkout ${sessionId} left to expire on its own: ${error.message}`));
    }
    await this.checkouts.update({ id: checkout.id, status: 'OPEN' }, { status, closedAt: this.clock.now() });
    return status;
  }
}
