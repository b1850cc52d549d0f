import { Module } from '@nestjs/common';
import { BillingResolver } from './billing.resolver';

@Module({
  providers: [BillingResolver],
})
export class BillingModule {}
