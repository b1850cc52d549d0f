import { Query, Resolver } from '@nestjs/graphql';
import { Public } from '../auth/public.decorator';
import { CreditPackageOutput } from './dtos/credit-package.output';
import { PlanOutput } from './dtos/plan.output';
import { PlansService } from './plans.service';

@Resolver()
export class PlansResolver {
  constructor(private readonly catalog: PlansService) {}

  @Public()
  @Query(() => [PlanOutput], { description: 'the plans in ascending order, FREE first; no token needed' })
  async plans(): Promise<PlanOutput[]> {
    return (await this.catalog.listPlans()).map((plan) => PlanOutput.from(plan));
  }

  @Public()
  @Query(() => [CreditPackageOutput], { description: 'the credit packages on sale, in display order; no token needed' })
  async creditPackages(): Promise<CreditPackageOutput[]> {
    return (await this.catalog.listPackages()).map((pack) => CreditPackageOutput.from(pack));
  }
}
