import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LedgerModule } from '../credits/ledger.module';
import { AccountsService } from './accounts.service';
import { AccountEntity } from './entities/account.entity';
import { RenewalService } from './renewal.service';

/**
 * Accounts: who is billed, on which plan, in which period, and what a subscription's state entitles them to; the
 * periods' renewal (its cron is RenewalCronModule, which only the service starts). Credits move only through the
 * ledger.
 */
@Module({
  imports: [LedgerModule, TypeOrmModule.forFeature([AccountEntity])],
  providers: [AccountsService, RenewalService],
  exports: [AccountsService, RenewalService],
})
export class AccountsModule {}
