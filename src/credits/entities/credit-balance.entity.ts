import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../../database/bigint.transformer';
import { CreditPool } from '../credit-type.enum';

/**
 * An account's cached balance of one pool. For MESSAGE, INTEGRATION and WALLET, `balance` is what can be spent
 * (the sum of the pool's grants); for PROJECT it is the number of units in use. `held` is reserved by pending holds.
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
}
