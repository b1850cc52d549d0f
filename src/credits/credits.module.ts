import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsService } from './accounts.service';
import { BalancesService } from './balances.service';
import { CreditsResolver } from './credits.resolver';
import { CreditsService } from './credits.service';
import { AccountEntity } from './entities/account.entity';
import { CreditBalanceEntity } from './entities/credit-balance.entity';
import { CreditGrantEntity } from './entities/credit-grant.entity';
import { CreditHoldEntity } from './entities/credit-hold.entity';
import { CreditTransactionEntity } from './entities/credit-transaction.entity';
import { CreditUsageEntity } from './entities/credit-usage.entity';
import { Ledger } from './ledger';
import { ReconciliationService } from './reconciliation.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([
      AccountEntity,
      CreditBalanceEntity,
      CreditGrantEntity,
      CreditHoldEntity,
      CreditTransactionEntity,
      CreditUsageEntity,
    ]),
  ],
  providers: [Ledger, AccountsService, BalancesService, CreditsService, ReconciliationService, CreditsResolver],
  exports: [AccountsService, BalancesService, CreditsService, ReconciliationService],
})
export class CreditsModule {}
