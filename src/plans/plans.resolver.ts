import { Query, Resolver } from '@nestjs/graphql';
import { Public } from '../auth/public.decorator';
import { CreditPackageOutput } from './dtos/credit-package.output';
import { PlanOutput } from './dtos/plan.output';
import { PlansService } from './plans.service';

@Resolver()
export class PlansResolver {
  constructor(private readonly catalog: PlansService) {}

  @Public()
  @Query(() => [PlanOutput])
  async plans(): Promise<PlanOutput[]> {
    return (await this.catalog.listPlans()).map((plan) => PlanOutput.from(plan));
  }

  @Public()
  @Query(() => [CreditPackageOutput])
  async creditPackages(): Promise<CreditPackageOutput[]> {
    return (await this.catalog.listPackages()).map((pack) => CreditPackageOutput.from(pack));
  }
}
