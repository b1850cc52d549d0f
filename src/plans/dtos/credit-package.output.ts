import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { CreditPackageEntity } from '../entities/credit-package.entity';

@ObjectType('CreditPackage')
export class CreditPackageOutput {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => Int)
  credits!: number;

  @Field(() => Int)
  priceCents!: number;

  @Field()
  currency!: string;

  /** A ratio for display only; amounts themselves stay integers. */
  @Field(() => Float)
  pricePerCreditCents!: number;

  @Field()
  mostPopular!: boolean;

  static from(pack: CreditPackageEntity): CreditPackageOutput {
    return {
      id: pack.id,
      name: pack.name,
      credits: pack.credits,
      priceCents: pack.priceCents,
      currency: pack.currency,
      pricePerCreditCents: Math.round((pack.priceCents / pack.credits) * 1000) / 1000,
      mostPopular: pack.mostPopular,
    };
  }
}
