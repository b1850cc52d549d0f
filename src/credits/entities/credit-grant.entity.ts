import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../../database/bigint.transformer';
import { CreditPool, GrantKind } from '../credit-type.enum';

/** A bucket of credits that entered an account, with what is left of it. */
@Entity('credit_grants')
export class CreditGrantEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  pool!: Exclude<CreditPool, 'PROJECT'>;

  @Column({ type: 'text' })
  kind!: GrantKind;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  amount!: number;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  remaining!: number;

  @Column({ type: 'integer' })
  priority!: number;

  @Column({ type: 'timestamptz', name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'period_start', nullable: true })
  periodStart!: Date | null;

  @Column({ type: 'text', name: 'source_key' })
  sourceKey!: string;

  @Column({ type: 'bigint', name: 'origin_transaction_id', transformer: bigintTransformer })
  originTransactionId!: number;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}
