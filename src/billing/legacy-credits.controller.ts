import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { accountInScope } from '../common/account-scope';
import { DEFAULT_PAGE_SIZE } from '../common/cursor';
import { BalancesService } from '../credits/balances.service';
import { CreditTransactionOutput } from '../credits/dtos/outputs/credit-transaction.output';
import { CreditUsageOutput } from '../credits/dtos/outputs/credit-usage.output';
import { UsageService } from '../usage/usage.service';
import { BillingErrorCode, BillingException } from './billing.exception';
import { CheckoutSessionOutput } from './dtos/checkout-session.output';
import { CreditPurchaseOutput } from './dtos/credit-purchase.output';
import { LegacyAccountQuery, LegacyHistoryQuery, LegacyPurchaseBody } from './dtos/rest/legacy-credits.dto';
import { PurchasesService } from './purchases.service';

/**
 * The REST endpoints the earlier frontends call, as thin adapters over the same services. They always answer for
 * the authenticated account; a `userId` parameter is honoured only for admins.
 */
@Controller('api')
export class LegacyCreditsController {
  constructor(
    private readonly usage: UsageService,
    private readonly balances: BalancesService,
    private readonly purchases: PurchasesService,
  ) {}

  @Get('credits/balance')
  async balance(@CurrentAccount() caller: AuthenticatedAccount, @Query() query: LegacyAccountQuery) {
    const accountId = accountInScope(caller, query.userId, { ignoreForUsers: true });
    const { wallet } = await this.usage.overview(accountId);
    return { accountId, ...wallet };
  }

  @Post('credits/purchase')
  @HttpCode(200)
  async purchase(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Body() body: LegacyPurchaseBody,
  ): Promise<CheckoutSessionOutput> {
    const accountId = accountInScope(caller, body.userId, { ignoreForUsers: true });
    const packageId = body.packageId ?? (body.priceId ? await this.purchases.packageForPrice(body.priceId) : null);
    if (!packageId) {
      throw new BillingException(BillingErrorCode.PACKAGE_REQUIRED, 'Send a packageId (or the priceId of a package).');
    }
    return this.purchases.startCheckout(accountId, packageId);
  }

  @Get('credits/history')
  async history(@CurrentAccount() caller: AuthenticatedAccount, @Query() query: LegacyHistoryQuery) {
    const accountId = accountInScope(caller, query.userId, { ignoreForUsers: true });
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const wanted = query.type ? [query.type] : (['purchases', 'usage', 'transactions'] as const);
    const result: Record<string, unknown[]> = {};
    for (const type of wanted) {
      if (type === 'purchases') {
        result.purchases = (await this.purchases.page(accountId, limit)).rows.map(CreditPurchaseOutput.from);
      } else if (type === 'usage') {
        result.usage = (await this.balances.usagePage(accountId, limit)).rows.map(CreditUsageOutput.from);
      } else {
        result.transactions = (await this.balances.transactionPage(accountId, limit)).rows.map(CreditTransactionOutput.from);
      }
    }
    return { accountId, ...result };
  }

  @Get('usage')
  usageOverview(@CurrentAccount() caller: AuthenticatedAccount, @Query() query: LegacyAccountQuery) {
    return this.usage.overview(accountInScope(caller, query.userId, { ignoreForUsers: true }));
  }
}
