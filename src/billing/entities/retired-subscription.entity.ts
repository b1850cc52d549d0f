import { Column, Entity, PrimaryColumn } from 'typeorm';

/** ENDED: deleted in Stripe. DUPLICATE: a second live subscription of an account that already had one. */
export type RetirementReason = 'ENDED' | 'DUPLICATE';

/**
 * A Stripe subscription that no longer (or never) drives its account's plan: its events and invoices change
 * nothing. A DUPLICATE is cancelled and its payment refunded; `settledAt` says when.
 */
@Entity('retired_subscriptions')
export class RetiredSubscriptionEntity {
  /** The Stripe subscription id. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  reason!: RetirementReason;

  @Column({ type: 'integer', name: 'refunded_cents' })
  refundedCents!: number;

  @Column({ type: 'timestamptz', name: 'claimed_until', nullable: true })
  claimedUntil!: Date | null;

  @Column({ type: 'timestamptz', name: 'settled_at', nullable: true })
  settledAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
