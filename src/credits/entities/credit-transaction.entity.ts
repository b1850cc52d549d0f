import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../../database/bigint.transformer';
import { CreditPool, CreditType, LedgerKind } from '../credit-type.enum';

/** One row of the append-only ledger: a signed movement of one pool, with the pool's balance after it. */
@Entity('credit_transactions')
export class CreditTransactionEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer })
  id!: number;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  kind!: LedgerKind;

  @Column({ type: 'text' })
  pool!: CreditPool;

  /** The type of use a wallet row paid for. */
  @Column({ type: 'text', name: 'charge_type', nullable: true })
  chargeType!: CreditType | null;

  @Column({ type: 'uuid', name: 'grant_id', nullable: true })
  grantId!: string | null;

  @Column({ type: 'uuid', name: 'hold_id', nullable: true })
  holdId!: string | null;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  amount!: number;

  @Column({ type: 'bigint', name: 'balance_after', transformer: bigintTransformer })
  balanceAfter!: number;

  @Column({ type: 'text', nullable: true })
  reference!: string | null;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
