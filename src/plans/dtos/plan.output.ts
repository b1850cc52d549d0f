import { Field, Int, ObjectType } from '@nestjs/graphql';
import { CreditType } from '../../credits/credit-type.enum';
import { PlanEntity } from '../entities/plan.entity';
import { PlanCode } from '../plan-code.enum';

@ObjectType('PlanLimit')
export class PlanLimitOutput {
  @Field(() => CreditType)
  creditType!: CreditType;

  @Field(() => Int, { nullable: true, description: 'null means unlimited' })
  limit!: number | null;

  @Field()
  resetsEachPeriod!: boolean;
}

@ObjectType('Plan')
export class PlanOutput {
  @Field(() => PlanCode)
  code!: PlanCode;

  @Field()
  name!: string;

  @Field(() => Int)
  priceCents!: number;

  @Field()
  currency!: string;

  @Field(() => [PlanLimitOutput])
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
