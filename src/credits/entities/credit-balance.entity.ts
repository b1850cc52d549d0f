import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../../database/bigint.transformer';
import { CreditPool } from '../credit-type.enum';

/**
 * An account's cached balance of one pool. For MESSAGE, INTEGRATION and WALLET, `balance` is what can be spent
 * (the sum of the pool's grants); for PROJECT it is the number of units in use. `held` is reserved by pending holds.
 * The WALLET row also keeps the wallet's lifetime totals (credits_count_wallet_totals).
 */
@Entity('credit_balances')
export class CreditBalanceEntity {
  @PrimaryColumn({ type: 'text', name: 'account_id' })
  accountId!: string;

  @PrimaryColumn({ type: 'text' })
  pool!: CreditPool;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  balance!: number;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  held!: number;

  /** WALLET: credits ever purchased. */
  @Column({ type: 'bigint', name: 'total_purchased', transformer: bigintTransformer })
  totalPurchased!: number;

  /** WALLET: wallet credits ever spent on usage. */
  @Column({ type: 'bigint', name: 'total_used', transformer: bigintTransformer })
  totalUsed!: number;
}
