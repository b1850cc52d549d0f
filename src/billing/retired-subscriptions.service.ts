import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { RetiredSubscriptionEntity, RetirementReason } from './entities/retired-subscription.entity';
import { StripeGateway } from './stripe/stripe.gateway';
import { stripeId } from './stripe/stripe-ids';

/** Subscription statuses Stripe never leaves: nothing to cancel. */
export const ENDED_SUBSCRIPTION_STATUSES = new Set(['canceled', 'incomplete_expired']);
/** How long one instance may take to cancel and refund a duplicate before another one tries. */
const CLAIM_MS = 60_000;
const SETTLE_BATCH = 10;

/**
 * Subscriptions that no longer drive an account: ended ones never come back, and a second live subscription of an
 * account (two checkouts both paid) is cancelled in Stripe and its payment refunded. The cancellation and refund run
 * after the webhook's transaction has committed, never under a lock; a failed attempt is retried with the next
 * webhook.
 */
@Injectable()
export class RetiredSubscriptionsService {
  private readonly logger = new Logger(RetiredSubscriptionsService.name);

  constructor(
    private readonly gateway: StripeGateway,
    private readonly clock: Clock,
    @InjectRepository(RetiredSubscriptionEntity) private readonly retired: Repository<RetiredSubscriptionEntity>,
  ) {}

  async isRetired(manager: EntityManager, subscriptionId: string): Promise<boolean> {
    return manager.exists(RetiredSubscriptionEntity, { where: { id: subscriptionId } });
  }

  /** Records a subscription as retired from its account; the first reason recorded stays. */
  async retire(manager: EntityManager, accountId: string, subscriptionId: string, reason: RetirementReason): Promise<void> {
    await manager.query(
      `INSERT INTO retired_subscriptions (id, account_id, reason, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING`,
      [subscriptionId, accountId, reason, this.clock.now()],
    );
  }

  /** A duplicate paid again (a late invoice): it is settled once more, so that this payment is refunded too. */
  async reopenDuplicate(manager: EntityManager, subscriptionId: string): Promise<boolean> {
    const result = await manager.update(
      RetiredSubscriptionEntity,
      { id: subscriptionId, reason: 'DUPLICATE' },
      { settledAt: null },
    );
    return (result.affected ?? 0) > 0;
  }

  /** Cancels and refunds the duplicates not settled yet. Failures are logged and left for the next attempt. */
  async settleDuplicates(): Promise<void> {
    const now = this.clock.now();
    const claimed: Array<{ id: string; account_id: string }> = await this.retired.query(
      `WITH claimed AS (
         UPDATE retired_subscriptions SET claimed_until = $2
          WHERE id IN (SELECT id FROM retired_subscriptions
                        WHERE reason = 'DUPLICATE' AND settled_at IS NULL AND (claimed_until IS NULL OR claimed_until < $1)
                        ORDER BY created_at LIMIT ${SETTLE_BATCH} FOR UPDATE SKIP LOCKED)
          RETURNING id, account_id)
       SELECT id, account_id FROM claimed`,
      [now, new Date(now.getTime() + CLAIM_MS)],
    );
    for (const { id, account_id: accountId } of claimed) {
      try {
        const refundedCents = await this.settle(id, accountId);
        await this.retired.update(id, { settledAt: this.clock.now(), claimedUntil: null });
        await this.retired.query(
          `UPDATE retired_subscriptions SET refunded_cents = GREATEST(refunded_cents, $2) WHERE id = $1`,
          [id, refundedCents],
        );
        this.logger.warn(
          `Account ${accountId} already had a subscription: cancelled the second one, ${id}, and refunded ${refundedCents} cents`,
        );
      } catch (error) {
        await this.retired.update(id, { claimedUntil: null });
        this.logger.error(`Could not cancel and refund duplicate subscription ${id} of ${accountId}: ${(error as Error).message}`);
      }
    }
  }

  /** Cancels the subscription in Stripe (unless it has ended) and refunds what its latest invoice was paid. */
  private async settle(subscriptionId: string, accountId: string): Promise<number> {
    const subscription = await this.gateway.call('read the duplicate subscription', (stripe) =>
      stripe.subscriptions.retrieve(subscriptionId),
    );
    if (!ENDED_SUBSCRIPTION_STATUSES.has(subscription.status)) {
      await this.gateway.call('cancel the duplicate subscription', (stripe) =>
        stripe.subscriptions.cancel(subscriptionId, {
          cancellation_details: { comment: 'duplicate: the account already has a subscription' },
        }),
      );
    }
    const invoice = stripeId(subscription.latest_invoice);
    if (!invoice) return 0;
    const payments = await this.gateway.call('list the duplicate subscription payments', (stripe) =>
      stripe.invoicePayments.list({ invoice, status: 'paid', limit: 100 }),
    );
    let refunded = 0;
    for (const payment of payments.data) {
      const intent = stripeId(payment.payment.payment_intent ?? null);
      if (!intent) continue;
      const refund = await this.gateway.call('refund the duplicate subscription', (stripe) =>
        stripe.refunds
          .create(
            { payment_intent: intent, reason: 'duplicate', metadata: { accountId, subscription: subscriptionId } },
            { idempotencyKey: `duplicate-subscription-refund:${intent}` },
          )
          .catch((error: { code?: string }) => {
            if (error.code === 'charge_already_refunded') return null;
            throw error;
          }),
      );
      refunded += refund?.amount ?? 0;
    }
    return refunded;
  }
}
