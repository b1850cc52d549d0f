import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { CreditPackageEntity } from '../entities/credit-package.entity';

@ObjectType('CreditPackage', { description: 'wallet credits sold once through Stripe Checkout (purchaseCredits)' })
export class CreditPackageOutput {
  @Field(() => ID, { description: "the package's id, for purchaseCredits" })
  id!: string;

  @Field({ description: 'its name, for people' })
  name!: string;

  @Field(() => Int, { description: 'wallet credits it adds' })
  credits!: number;

  @Field(() => Int, { description: 'its price, in cents of `currency`' })
  priceCents!: number;

  @Field({ description: 'ISO 4217 currency code, lower case (usd)' })
  currency!: string;

  /** A ratio for display only; amounts themselves stay integers. */
  @Field(() => Float, { description: 'price per credit in cents, for display (three decimals)' })
  pricePerCreditCents!: number;

  @Field({ description: 'true for the package to highlight' })
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
