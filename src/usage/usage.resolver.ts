import { Args, Int, Query, Resolver } from '@nestjs/graphql';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { notImplemented } from '../common/common.exception';
import { Connection } from '../common/pagination';
import { CreditTransactionConnection, CreditTransactionOutput } from '../credits/dtos/outputs/credit-transaction.output';
import { CreditUsageConnection, CreditUsageOutput } from '../credits/dtos/outputs/credit-usage.output';
import { BillingOverviewOutput } from './dtos/billing-overview.output';
import { UsageService } from './usage.service';

@Resolver()
export class UsageResolver {
  constructor(private readonly usage: UsageService) {}

  @Query(() => BillingOverviewOutput, { description: "the caller's account" })
  billing(@CurrentAccount() account: AuthenticatedAccount): Promise<BillingOverviewOutput> {
    return this.usage.overview(account.id);
  }

  @Query(() => CreditTransactionConnection)
  creditTransactions(
    @Args('first', { type: () => Int, nullable: true }) _first?: number,
    @Args('after', { nullable: true }) _after?: string,
  ): Promise<Connection<CreditTransactionOutput>> {
    throw notImplemented('creditTransactions');
  }

  @Query(() => CreditUsageConnection)
  creditUsage(
    @Args('first', { type: () => Int, nullable: true }) _first?: number,
    @Args('after', { nullable: true }) _after?: string,
  ): Promise<Connection<CreditUsageOutput>> {
    throw notImplemented('creditUsage');
  }
}
