import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../../database/transaction';
import { PurchasesService } from '../purchases.service';
import { SubscriptionsService } from '../subscriptions.service';
import { stripeId } from './stripe-ids';

export type WebhookOutcome = 'APPLIED' | 'IGNORED' | 'DUPLICATE';

/**
 * Applies a verified Stripe event exactly once. The event id is stored in the same transaction that applies it:
 * a replay (even one arriving concurrently) waits for the first and then finds the id, and a failure rolls both
 * back so Stripe's retry applies it whole.
 */
@Injectable()
export class StripeWebhookService {
  private readonly logger = new Logger(StripeWebhookService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly purchases: PurchasesService,
    private readonly subscriptions: SubscriptionsService,
  ) {}

  process(event: Stripe.Event): Promise<WebhookOutcome> {
    return inTransaction(this.dataSource, async (manager) => {
      const created = new Date(event.created * 1000);
      const stored: unknown[] = await manager.query(
        `INSERT INTO stripe_events (id, type, created_at, outcome) VALUES ($1, $2, $3, 'IGNORED')
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [event.id, event.type, created],
      );
      if (stored.length === 0) return 'DUPLICATE';
      const applied = await this.apply(manager, event, created);
      if (applied) await manager.query(`UPDATE stripe_events SET outcome = 'APPLIED' WHERE id = $1`, [event.id]);
      this.logger.log(`Stripe ${event.type} ${event.id}: ${applied ? 'applied' : 'ignored'}`);
      return applied ? 'APPLIED' : 'IGNORED';
    });
  }

  private async apply(manager: EntityManager, event: Stripe.Event, created: Date): Promise<boolean> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const session = event.data.object;
        if (session.mode !== 'payment') return false;
        // A delayed payment method completes the session unpaid; the credits wait for the async success.
        if (session.payment_status === 'unpaid') return false;
        const outcome = await this.purchases.complete(manager, {
          checkoutSessionId: session.id,
          paymentIntentId: stripeId(session.payment_intent),
          metadata: session.metadata,
        });
        return outcome === 'credited';
      }
      case 'checkout.session.async_payment_failed':
      case 'checkout.session.expired': {
        const session = event.data.object;
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
