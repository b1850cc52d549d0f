import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { CreditPackageEntity } from './entities/credit-package.entity';
import { PlanEntity } from './entities/plan.entity';
import { PlanCode } from './plan-code.enum';
import { PlansErrorCode, PlansException } from './plans.exception';

/** The plan and credit-package catalog. Small and rarely edited, so it is read from the database each time. */
@Injectable()
export class PlansService {
  constructor(
    @InjectRepository(PlanEntity) private readonly plans: Repository<PlanEntity>,
    @InjectRepository(CreditPackageEntity) private readonly packages: Repository<CreditPackageEntity>,
  ) {}

  listPlans(): Promise<PlanEntity[]> {
    return this.plans.find({ order: { rank: 'ASC' } });
  }

  async getPlan(code: PlanCode): Promise<PlanEntity> {
    const plan = await this.plans.findOneBy({ code });
    if (!plan) throw new PlansException(PlansErrorCode.PLAN_NOT_FOUND, `There is no plan ${code}.`);
    return plan;
  }

  listPackages(): Promise<CreditPackageEntity[]> {
    return this.packages.find({ where: { active: true }, order: { sortOrder: 'ASC' } });
  }

  async getPackage(id: string): Promise<CreditPackageEntity> {
    const pack = await this.packages.findOneBy({ id, active: true });
    if (!pack) throw new PlansException(PlansErrorCode.PACKAGE_NOT_FOUND, `There is no credit package "${id}".`);
    return pack;
  }
}
