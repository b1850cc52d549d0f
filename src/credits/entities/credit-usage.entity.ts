import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../../database/bigint.transformer';
import { CreditType } from '../credit-type.enum';

/** One settled use: how many units, how many the allowance paid and how many wallet credits paid the rest. */
@Entity('credit_usage')
export class CreditUsageEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer })
  id!: number;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text', name: 'credit_type' })
  creditType!: CreditType;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  amount!: number;

  @Column({ type: 'bigint', name: 'from_allowance', transformer: bigintTransformer })
  fromAllowance!: number;

  @Column({ type: 'bigint', name: 'from_wallet', transformer: bigintTransformer })
  fromWallet!: number;

  @Column({ type: 'uuid', name: 'hold_id', nullable: true })
  holdId!: string | null;

  @Column({ type: 'text', name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
