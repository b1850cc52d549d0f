import { Module } from '@nestjs/common';
import { AccountsModule } from './accounts.module';
import { RenewalScheduler } from './renewal.scheduler';

/** The renewal on CREDITS_CRON: part of the running service, not of the operator commands that renew by hand. */
@Module({ imports: [AccountsModule], providers: [RenewalScheduler] })
export class RenewalCronModule {}
