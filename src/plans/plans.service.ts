import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
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

  /**
   * Every lookup takes the caller's transaction when there is one: a transaction that waited for a second pool
   * connection could starve the pool under load.
   */
  listPlans(manager?: EntityManager): Promise<PlanEntity[]> {
    return this.plansOf(manager).find({ order: { rank: 'ASC' } });
  }

  async getPlan(code: PlanCode, manager?: EntityManager): Promise<PlanEntity> {
    const plan = await this.plansOf(manager).findOneBy({ code });
    if (!plan) throw new PlansException(PlansErrorCode.PLAN_NOT_FOUND, `There is no plan ${code}.`);
    return plan;
  }

  listPackages(manager?: EntityManager): Promise<CreditPackageEntity[]> {
    return this.packagesOf(manager).find({ where: { active: true }, order: { sortOrder: 'ASC' } });
  }

  async getPackage(id: string, manager?: EntityManager): Promise<CreditPackageEntity> {
    const pack = await this.packagesOf(manager).findOneBy({ id, active: true });
    if (!pack) throw new PlansException(PlansErrorCode.PACKAGE_NOT_FOUND, `There is no credit package "${id}".`);
    return pack;
  }

  private plansOf(manager?: EntityManager): Repository<PlanEntity> {
    return manager ? manager.getRepository(PlanEntity) : this.plans;
  }

  private packagesOf(manager?: EntityManager): Repository<CreditPackageEntity> {
    return manager ? manager.getRepository(CreditPackageEntity) : this.packages;
  }
}
