import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('credit_packages')
export class CreditPackageEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'integer' })
  credits!: number;

  @Column({ type: 'integer', name: 'price_cents' })
  priceCents!: number;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'boolean', name: 'most_popular' })
  mostPopular!: boolean;

  @Column({ type: 'smallint', name: 'sort_order' })
  sortOrder!: number;

  @Column({ type: 'boolean' })
  active!: boolean;

  @Column({ type: 'text', name: 'stripe_lookup_key' })
  stripeLookupKey!: string;
}
