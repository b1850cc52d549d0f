import { Column, Entity, PrimaryColumn } from 'typeorm';

export type HoldStatus = 'PENDING' | 'CAPTURED' | 'RELEASED' | 'EXPIRED';

/** A reservation: credits taken out of what is available until it is captured, released or expires. */
@Entity('credit_holds')
export class CreditHoldEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  status!: HoldStatus;

  @Column({ type: 'jsonb' })
  charges!: Array<{ type: string; amount: number; walletRate: number }>;

  /** What the hold took from each grant; `kept`, once captured for less, is what the capture kept of it. */
  @Column({ type: 'jsonb' })
  allocations!: Array<{ pool: string; type: string; grant?: string; amount: number; kept?: number }>;

  @Column({ type: 'text', name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'settled_at', nullable: true })
  settledAt!: Date | null;
}
