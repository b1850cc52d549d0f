import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { ACCOUNT_ARG, accountInScope } from '../common/account-scope';
import { encodeCursor, pageSize } from '../common/cursor';
import { Connection, connectionFrom, PAGE_ARGS } from '../common/pagination';
import { BalancesService } from '../credits/balances.service';
import { CreditTransactionConnection, CreditTransactionOutput } from '../credits/dtos/outputs/credit-transaction.output';
import { CreditUsageConnection, CreditUsageOutput } from '../credits/dtos/outputs/credit-usage.output';
import { BillingOverviewOutput } from './dtos/billing-overview.output';
import { UsageService } from './usage.service';

/** A history row's cursor: its id, which only grows. */
const rowCursor = (row: { id: number }) => encodeCursor(row.id);

@Resolver()
export class UsageResolver {
  constructor(
    private readonly usage: UsageService,
    private readonly history: BalancesService,
  ) {}

  @Query(() => BillingOverviewOutput, {
    description:
      "the caller's account; an admin may name another: plan and period, per-type usage with levels, the wallet, " +
      'warnings and alerts',
  })
  billing(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('accountId', ACCOUNT_ARG) accountId?: string,
  ): Promise<BillingOverviewOutput> {
    const owner = accountInScope(caller, accountId);
    return this.usage.overview(owner, { create: owner === caller.id });
  }

  @Query(() => CreditTransactionConnection, {
    description:
      'the ledger, newest first, as a person reads it: a guarded call that succeeded is its charge (CAPTURE), one that ' +
      'failed shows nothing, and HOLD means a call still running',
  })
  async creditTransactions(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('first', PAGE_ARGS.first) first?: number,
    @Args('after', PAGE_ARGS.after) after?: string,
    @Args('accountId', ACCOUNT_ARG) accountId?: string,
  ): Promise<Connection<CreditTransactionOutput>> {
    const page = await this.history.transactionPage(accountInScope(caller, accountId), pageSize(first), after);
    return connectionFrom(page, rowCursor, CreditTransactionOutput.from);
  }

  @Query(() => CreditUsageConnection, { description: "the account's usage records, newest first" })
  async creditUsage(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('first', PAGE_ARGS.first) first?: number,
    @Args('after', PAGE_ARGS.after) after?: string,
    @Args('accountId', ACCOUNT_ARG) accountId?: string,
  ): Promise<Connection<CreditUsageOutput>> {
    const page = await this.history.usagePage(accountInScope(caller, accountId), pageSize(first), after);
    return connectionFrom(page, rowCursor, CreditUsageOutput.from);
  }
}
