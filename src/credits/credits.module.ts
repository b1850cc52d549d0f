import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { BalancesService } from './balances.service';
import { CreditsInterceptor } from './credits.interceptor';
import { CreditsResolver } from './credits.resolver';
import { CreditsService } from './credits.service';
import { CreditBalanceEntity } from './entities/credit-balance.entity';
import { CreditGrantEntity } from './entities/credit-grant.entity';
import { CreditHoldEntity } from './entities/credit-hold.entity';
import { CreditTransactionEntity } from './entities/credit-transaction.entity';
import { CreditUsageEntity } from './entities/credit-usage.entity';
import { GuardedOperations } from './guarded-operation';
import { LedgerModule } from './ledger.module';
import { OpenHolds } from './open-holds';
import { ReconciliationService } from './reconciliation.service';
import { UsageEventsController } from './usage-events.controller';

/**
 * Global: @RequiresCredits attaches CreditsInterceptor to the handlers it guards, in whatever module declares them,
 * and the interceptor finds its dependencies here without that module importing this one.
 */
@Global()
@Module({
  imports: [
    DiscoveryModule,
    LedgerModule,
    AccountsModule,
    TypeOrmModule.forFeature([
      CreditBalanceEntity,
      CreditGrantEntity,
      CreditHoldEntity,
      CreditTransactionEntity,
      CreditUsageEntity,
    ]),
  ],
  controllers: [UsageEventsController],
  providers: [
    BalancesService,
    CreditsService,
    ReconciliationService,
    OpenHolds,
    GuardedOperations,
    CreditsResolver,
    CreditsInterceptor,
  ],
  exports: [AccountsModule, BalancesService, CreditsService, ReconciliationService, OpenHolds, GuardedOperations, CreditsInterceptor],
})
export class CreditsModule {}
