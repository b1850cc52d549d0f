import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PlanCode } from '../../plans/plan-code.enum';

export type SubscriptionCheckoutStatus = 'OPEN' | 'COMPLETE' | 'EXPIRED';

/**
 * A subscription Checkout Session opened for an account and plan. While it is OPEN, asking for the same plan again
 * hands out the same session; its id is also the idempotency key of the session's creation.
 */
@Entity('subscription_checkouts')
export class SubscriptionCheckoutEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text', name: 'plan_code' })
  planCode!: PlanCode;

  @Column({ type: 'text' })
  status!: SubscriptionCheckoutStatus;

  @Column({ type: 'text', name: 'stripe_checkout_session_id', nullable: true })
  stripeCheckoutSessionId!: string | null;

  @Column({ type: 'text', nullable: true })
  url!: string | null;

  @Column({ type: 'timestamptz', name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'closed_at', nullable: true })
  closedAt!: Date | null;
}
