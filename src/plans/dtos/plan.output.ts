import { Field, Int, ObjectType } from '@nestjs/graphql';
import { CreditType } from '../../credits/credit-type.enum';
import { PlanEntity } from '../entities/plan.entity';
import { PlanCode } from '../plan-code.enum';

@ObjectType('PlanLimit', { description: "a plan's limit of one credit type" })
export class PlanLimitOutput {
  @Field(() => CreditType, { description: 'the type' })
  creditType!: CreditType;

  @Field(() => Int, { nullable: true, description: 'null means unlimited' })
  limit!: number | null;

  @Field({ description: 'true for the allowance of MESSAGE and INTEGRATION; false for the PROJECT quota' })
  resetsEachPeriod!: boolean;
}

@ObjectType('Plan', { description: 'a plan of the catalog: its monthly price and its limits' })
export class PlanOutput {
  @Field(() => PlanCode, { description: "the plan's code" })
  code!: PlanCode;

  @Field({ description: 'its name, for people' })
  name!: string;

  @Field(() => Int, { description: 'the monthly price, in cents of `currency`' })
  priceCents!: number;

  @Field({ description: 'ISO 4217 currency code, lower case (usd)' })
  currency!: string;

  @Field(() => [PlanLimitOutput], { description: 'one limit per credit type' })
  limits!: PlanLimitOutput[];

  static from(plan: PlanEntity): PlanOutput {
    return {
      code: plan.code,
      name: plan.name,
      priceCents: plan.priceCents,
      currency: plan.currency,
      limits: Object.values(CreditType).map((creditType) => ({
        creditType,
        limit: plan.limitOf(creditType),
        resetsEachPeriod: creditType !== CreditType.PROJECT,
      })),
    };
  }
}
