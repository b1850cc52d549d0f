import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CreditPackageEntity } from './entities/credit-package.entity';
import { PlanEntity } from './entities/plan.entity';
import { PlansResolver } from './plans.resolver';
import { PlansService } from './plans.service';

@Module({
  imports: [TypeOrmModule.forFeature([PlanEntity, CreditPackageEntity])],
  providers: [PlansService, PlansResolver],
  exports: [PlansService],
})
export class PlansModule {}
