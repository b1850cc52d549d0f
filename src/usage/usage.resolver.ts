import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { accountInScope } from '../common/account-scope';
import { encodeCursor, pageSize } from '../common/cursor';
import { Connection } from '../common/pagination';
import { BalancesService, HistoryPage } from '../credits/balances.service';
import { CreditTransactionConnection, CreditTransactionOutput } from '../credits/dtos/outputs/credit-transaction.output';
import { CreditUsageConnection, CreditUsageOutput } from '../credits/dtos/outputs/credit-usage.output';
import { BillingOverviewOutput } from './dtos/billing-overview.output';
import { UsageService } from './usage.service';

function connection<Row extends { id: number }, Node>(
  page: HistoryPage<Row>,
  toNode: (row: Row) => Node,
): Connection<Node> {
  const edges = page.rows.map((row) => ({ cursor: encodeCursor(row.id), node: toNode(row) }));
  return { edges, pageInfo: { hasNextPage: page.more, endCursor: edges.at(-1)?.cursor ?? null } };
}

@Resolver()
export class UsageResolver {
  constructor(
    private readonly usage: UsageService,
    private readonly history: BalancesService,
  ) {}

  @Query(() => BillingOverviewOutput, { description: "the caller's account" })
  billing(@CurrentAccount() account: AuthenticatedAccount): Promise<BillingOverviewOutput> {
    return this.usage.overview(account.id);
  }

  @Query(() => CreditTransactionConnection, {
    description:
      'the ledger, newest first, as a person reads it: a guarded call that succeeded is its charge (CAPTURE), one that ' +
      'failed shows nothing, and HOLD means a call still running',
  })
  async creditTransactions(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { nullable: true }) after?: string,
    @Args('accountId', { type: () => ID, nullable: true, description: 'admins only' }) accountId?: string,
  ): Promise<Connection<CreditTransactionOutput>> {
    const page = await this.history.transactionPage(accountInScope(caller, accountId), pageSize(first), after);
    return connection(page, CreditTransactionOutput.from);
  }

  @Query(() => CreditUsageConnection)
  async creditUsage(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { nullable: true }) after?: string,
    @Args('accountId', { type: () => ID, nullable: true, description: 'admins only' }) accountId?: string,
  ): Promise<Connection<CreditUsageOutput>> {
    const page = await this.history.usagePage(accountInScope(caller, accountId), pageSize(first), after);
    return connection(page, CreditUsageOutput.from);
  }
}
