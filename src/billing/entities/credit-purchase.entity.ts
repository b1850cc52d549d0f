import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Where a purchase stands (credit_purchases.status). */
export const PurchaseStatus = {
  PENDING: 'PENDING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  REFUNDED: 'REFUNDED',
} as const;
export type PurchaseStatus = (typeof PurchaseStatus)[keyof typeof PurchaseStatus];

/** A credit package bought through Stripe Checkout; its credits enter the wallet when Stripe confirms payment. */
@Entity('credit_purchases')
export class CreditPurchaseEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text', name: 'package_id' })
  packageId!: string;

  @Column({ type: 'integer' })
  credits!: number;

  @Column({ type: 'integer', name: 'amount_cents' })
  amountCents!: number;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'text' })
  status!: PurchaseStatus;

  @Column({ type: 'text', name: 'stripe_checkout_session_id', nullable: true })
  stripeCheckoutSessionId!: string | null;

  @Column({ type: 'text', name: 'stripe_payment_intent_id', nullable: true })
  stripePaymentIntentId!: string | null;

  @Column({ type: 'uuid', name: 'grant_id', nullable: true })
  grantId!: string | null;

  @Column({ type: 'integer', name: 'credits_clawed_back' })
  creditsClawedBack!: number;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'completed_at', nullable: true })
  completedAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'refunded_at', nullable: true })
  refundedAt!: Date | null;
}
