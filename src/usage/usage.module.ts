import { Module } from '@nestjs/common';
import { CreditsModule } from '../credits/credits.module';
import { PlansModule } from '../plans/plans.module';
import { UsageResolver } from './usage.resolver';
import { UsageService } from './usage.service';

@Module({
  imports: [CreditsModule, PlansModule],
  providers: [UsageService, UsageResolver],
  exports: [UsageService],
})
export class UsageModule {}
