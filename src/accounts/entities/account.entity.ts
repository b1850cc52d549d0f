import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PlanCode } from '../../plans/plan-code.enum';

export enum SubscriptionStatus {
  ACTIVE = 'ACTIVE',
  TRIALING = 'TRIALING',
  PAST_DUE = 'PAST_DUE',
  CANCELED = 'CANCELED',
  INCOMPLETE = 'INCOMPLETE',
}

/** The billable owner of credits: one per authenticated subject (the JWT `sub`). */
@Entity('accounts')
export class AccountEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text', name: 'plan_code' })
  planCode!: PlanCode;

  @Column({ type: 'text' })
  status!: SubscriptionStatus;

  @Column({ type: 'timestamptz', name: 'period_anchor' })
  periodAnchor!: Date;

  @Column({ type: 'timestamptz', name: 'current_period_start' })
  currentPeriodStart!: Date;

  @Column({ type: 'timestamptz', name: 'current_period_end' })
  currentPeriodEnd!: Date;

  @Column({ type: 'boolean', name: 'cancel_at_period_end' })
  cancelAtPeriodEnd!: boolean;

  @Column({ type: 'text', name: 'pending_plan_code', nullable: true })
  pendingPlanCode!: PlanCode | null;

  /** The plan of the Stripe subscription; `planCode` is the plan whose limits apply now (FREE while it is unpaid). */
  @Column({ type: 'text', name: 'subscription_plan_code', nullable: true })
  subscriptionPlanCode!: PlanCode | null;

  /** When the subscription became past due: it keeps its plan for PAST_DUE_GRACE_HOURS from here. */
  @Column({ type: 'timestamptz', name: 'past_due_since', nullable: true })
  pastDueSince!: Date | null;

  @Column({ type: 'text', name: 'stripe_customer_id', nullable: true })
  stripeCustomerId!: string | null;

  @Column({ type: 'text', name: 'stripe_subscription_id', nullable: true })
  stripeSubscriptionId!: string | null;

  /** Creation time of the newest Stripe subscription event applied. */
  @Column({ type: 'timestamptz', name: 'stripe_state_at', nullable: true })
  stripeStateAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
