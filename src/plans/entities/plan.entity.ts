import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CreditType } from '../../credits/credit-type.enum';
import { PlanCode } from '../plan-code.enum';

@Entity('plans')
export class PlanEntity {
  @PrimaryColumn({ type: 'text' })
  code!: PlanCode;

  @Column({ type: 'text' })
  name!: string;

  /** Position in the upgrade path: a higher rank is an upgrade. */
  @Column({ type: 'smallint' })
  rank!: number;

  @Column({ type: 'integer', name: 'price_cents' })
  priceCents!: number;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'integer', name: 'message_limit' })
  messageLimit!: number;

  @Column({ type: 'integer', name: 'integration_limit' })
  integrationLimit!: number;

  /** null: unlimited */
  @Column({ type: 'integer', name: 'project_limit', nullable: true })
  projectLimit!: number | null;

  @Column({ type: 'text', name: 'stripe_lookup_key' })
  stripeLookupKey!: string;

  limitOf(type: CreditType): number | null {
    switch (type) {
      case CreditType.MESSAGE:
        return this.messageLimit;
      case CreditType.INTEGRATION:
        return this.integrationLimit;
      case CreditType.PROJECT:
        return this.projectLimit;
    }
  }
}
