import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { CreditsErrorCode, CreditsException } from '../../credits/credits.exception';
import { inTransaction, pgErrorCode } from '../../database/transaction';
import { PurchasesService } from '../purchases.service';
import { RetiredSubscriptionsService } from '../retired-subscriptions.service';
import { SubscriptionCheckoutsService } from '../subscription-checkouts.service';
import { SubscriptionsService } from '../subscriptions.service';
import { stripeId } from './stripe-ids';

export type WebhookOutcome = 'APPLIED' | 'IGNORED' | 'UNAPPLIED' | 'DUPLICATE';

/**
 * A database refusal that the same event would meet on every retry: it contradicts what is stored (a unique key,
 * a check) or carries a value the schema cannot hold.
 */
function cannotApply(error: unknown): boolean {
  // The ledger refusing a grant past what a balance may hold is as final as a constraint.
  if (error instanceof CreditsException && error.code === CreditsErrorCode.BALANCE_LIMIT) return true;
  const code = pgErrorCode(error);
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}

/**
 * Applies a verified Stripe event exactly once. The event id is stored in the same transaction that applies it:
 * a replay (even one arriving concurrently) waits for the first and then finds the id, and a failure rolls both
 * back so Stripe's retry applies it whole. An event that can never be applied is not retried forever: it is kept
 * as UNAPPLIED with the reason, logged, and answered 2xx (resending it from Stripe tries it again).
 */
@Injectable()
export class StripeWebhookService {
  private readonly logger = new Logger(StripeWebhookService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly purchases: PurchasesService,
    private readonly subscriptions: SubscriptionsService,
    private readonly checkouts: SubscriptionCheckoutsService,
    private readonly retired: RetiredSubscriptionsService,
  ) {}

  async process(event: Stripe.Event): Promise<WebhookOutcome> {
    const outcome = await inTransaction(this.dataSource, async (manager): Promise<WebhookOutcome> => {
      const created = new Date(event.created * 1000);
      const stored: unknown[] = await manager.query(
        `INSERT INTO stripe_events (id, type, created_at, outcome) VALUES ($1, $2, $3, 'IGNORED')
         ON CONFLICT (id) DO UPDATE SET outcome = 'IGNORED', detail = NULL WHERE stripe_events.outcome = 'UNAPPLIED'
         RETURNING id`,
        [event.id, event.type, created],
      );
      if (stored.length === 0) return 'DUPLICATE';
      await manager.query('SAVEPOINT apply_event');
      let applied: boolean;
      try {
        applied = await this.apply(manager, event, created);
      } catch (error) {
        if (!cannotApply(error)) throw error;
        await manager.query('ROLLBACK TO SAVEPOINT apply_event');
        const detail = (error as Error).message.slice(0, 500);
        await manager.query(`UPDATE stripe_events SET outcome = 'UNAPPLIED', detail = $2 WHERE id = $1`, [event.id, detail]);
        this.logger.error(`Stripe ${event.type} ${event.id} cannot be applied, kept as UNAPPLIED: ${detail}`);
        return 'UNAPPLIED';
      }
      if (applied) await manager.query(`UPDATE stripe_events SET outcome = 'APPLIED' WHERE id = $1`, [event.id]);
      this.logger.log(`Stripe ${event.type} ${event.id}: ${applied ? 'applied' : 'ignored'}`);
      return applied ? 'APPLIED' : 'IGNORED';
    });
    // A second subscription found by this (or an earlier) event is cancelled and refunded now that it is committed.
    await this.retired.settleDuplicates();
    return outcome;
  }

  private async apply(manager: EntityManager, event: Stripe.Event, created: Date): Promise<boolean> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const session = event.data.object;
        if (session.mode === 'subscription') return this.checkouts.close(manager, session.id, 'COMPLETE');
        if (session.mode !== 'payment') return false;
        // A delayed payment method completes the session unpaid; the credits wait for the async success.
        if (session.payment_status === 'unpaid') return false;
        const outcome = await this.purchases.complete(manager, {
          checkoutSessionId: session.id,
          paymentIntentId: stripeId(session.payment_intent),
          metadata: session.metadata,
          // What the customer paid, after discounts and taxes; nothing at all when no payment was required.
          paid: {
            amountCents: session.payment_status === 'no_payment_required' ? 0 : session.amount_total,
            currency: session.currency,
          },
        });
        return outcome === 'credited';
      }
      case 'checkout.session.async_payment_failed':
      case 'checkout.session.expired': {
        const session = event.data.object;
        if (session.mode === 'subscription' && event.type === 'checkout.session.expired') {
          return this.checkouts.close(manager, session.id, 'EXPIRED');
        }
        if (session.mode !== 'payment') return false;
        await this.purchases.fail(manager, { checkoutSessionId: session.id, metadata: session.metadata });
        return true;
      }
      case 'payment_intent.succeeded': {
        const intent = event.data.object;
        const outcome = await this.purchases.complete(manager, { paymentIntentId: intent.id, metadata: intent.metadata });
        return outcome === 'credited';
      }
      case 'charge.refunded': {
        const charge = event.data.object;
        const taken = await this.purchases.clawBack(
          manager,
          { paymentIntentId: stripeId(charge.payment_intent), metadata: charge.metadata },
          { refunded: charge.amount_refunded, total: charge.amount },
          'payment refunded',
        );
        return taken >= 0;
      }
      case 'charge.dispute.created': {
        const dispute = event.data.object;
        const taken = await this.purchases.clawBack(
          manager,
          { paymentIntentId: stripeId(dispute.payment_intent) },
          { refunded: 1, total: 1 },
          'payment disputed',
        );
        return taken >= 0;
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        return this.subscriptions.applySubscription(manager, event.data.object, event.type, created);
      case 'invoice.paid':
        return this.subscriptions.applyInvoicePaid(manager, event.data.object, created);
      case 'invoice.payment_failed':
        return this.subscriptions.applyPaymentFailed(manager, event.data.object);
      default:
        return false;
    }
  }
}
