import { Inject, Injectable } from '@nestjs/common';
import { PlanSubscriptionOutput } from '../billing/dtos/plan-subscription.output';
import { appLinks } from '../common/app-links';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { AccountsService } from '../accounts/accounts.service';
import { BalancesService, PeriodAllowance, PoolBalance } from '../credits/balances.service';
import { CREDIT_TYPE_NOUN, CreditType } from '../credits/credit-type.enum';
import { CreditsService } from '../credits/credits.service';
import { AccountEntity } from '../accounts/entities/account.entity';
import { PlanOutput } from '../plans/dtos/plan.output';
import { PlanEntity } from '../plans/entities/plan.entity';
import { PlansService } from '../plans/plans.service';
import { BillingOverviewOutput, CreditBalanceOutput, WalletOutput } from './dtos/billing-overview.output';
import { projectedExhaustion } from './burn-rate';
import { percentUsed, UsageLevel, usageLevel } from './usage-level';


const GRAPHQL_INT_MAX = 2_147_483_647;
/** What the dashboards show: plan and period, per-type usage with levels, the wallet and warnings. */
@Injectable()
export class UsageService {
  constructor(
    private readonly accounts: AccountsService,
    private readonly balancesOf: BalancesService,
    private readonly credits: CreditsService,
    private readonly plans: PlansService,
    private readonly clock: Clock,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  /** `create: false`: an account named by someone else is not created by reading it (ACCOUNT_NOT_FOUND). */
  async overview(accountId: string, options: { create?: boolean } = {}): Promise<BillingOverviewOutput> {
    const account = await this.accounts.current(accountId, options);
    const plan = await this.plans.getPlan(account.planCode);
    const pools = await this.balancesOf.pools(accountId);
    const allowance = await this.balancesOf.periodAllowance(accountId, account.currentPeriodStart);

    const balances = Object.values(CreditType).map((type) =>
      this.balanceOf(type, plan, account, pools.get(type), allowance.get(type)),
    );
    const wallet = await this.wallet(accountId, pools.get('WALLET'));
    const links = appLinks(this.config);
    return {
      accountId,
      subscription: await this.subscription(account, plan),
      balances,
      wallet,
      warnings: balances.flatMap((balance) => this.warningsFor(balance, plan, wallet)),
      alerts: await this.balancesOf.periodAlerts(accountId, account.currentPeriodStart),
      ...links,
    };
  }

  async subscription(account: AccountEntity, plan?: PlanEntity): Promise<PlanSubscriptionOutput> {
    const current = plan ?? (await this.plans.getPlan(account.planCode));
    const pending = account.pendingPlanCode ? await this.plans.getPlan(account.pendingPlanCode) : null;
    return {
      plan: PlanOutput.from(current),
      status: account.status,
      currentPeriodStart: account.currentPeriodStart,
      currentPeriodEnd: account.currentPeriodEnd,
      cancelAtPeriodEnd: account.cancelAtPeriodEnd,
      pendingPlan: pending ? PlanOutput.from(pending) : null,
    };
  }

  private balanceOf(
    type: CreditType,
    plan: PlanEntity,
    account: AccountEntity,
    pool: PoolBalance | undefined,
    allowance: PeriodAllowance | undefined,
  ): CreditBalanceOutput {
    const limit = plan.limitOf(type);
    // A period's overview counts its own holds: one reserved in the period before is paid by that period.
    const held = type === CreditType.PROJECT ? (pool?.held ?? 0) : (allowance?.held ?? 0);
    const used =
      type === CreditType.PROJECT
        ? (pool?.balance ?? 0)
        : Math.max((allowance?.granted ?? 0) - (allowance?.left ?? 0) - held, 0);
    const resets = type !== CreditType.PROJECT;
    return {
      creditType: type,
      limit,
      used,
      held,
      remaining: limit === null ? null : Math.max(limit - used - held, 0),
      percentUsed: percentUsed(used, limit),
      level: usageLevel(used, limit),
      resetsAt: resets ? account.currentPeriodEnd : null,
      projectedExhaustionAt: resets
        ? projectedExhaustion(
            { used, held, limit },
            { start: account.currentPeriodStart, end: account.currentPeriodEnd },
            this.clock.now(),
          )
        : null,
    };
  }

  private async wallet(accountId: string, pool: PoolBalance | undefined): Promise<WalletOutput> {
    const totals = await this.balancesOf.walletTotals(accountId);
    // Balances never pass a GraphQL Int (the ledger refuses such grants), but lifetime totals keep adding up: past
    // it, a total shows the largest Int instead of failing the whole overview.
    return {
      balance: pool?.balance ?? 0,
      totalPurchased: Math.min(totals.purchased, GRAPHQL_INT_MAX),
      totalUsed: Math.min(totals.used, GRAPHQL_INT_MAX),
    };
  }

  private warningsFor(balance: CreditBalanceOutput, plan: PlanEntity, wallet: WalletOutput): string[] {
    const noun = CREDIT_TYPE_NOUN[balance.creditType];
    if (balance.level === UsageLevel.OK || balance.limit === null) return [];
    if (balance.creditType === CreditType.PROJECT) {
      return [
        `You have ${balance.used} of ${balance.limit} projects allowed on the ${plan.name} plan. ` +
          'Delete a project or upgrade to create more.',
      ];
    }
    if (balance.level === UsageLevel.WARNING) {
      return [
        `You have used ${balance.used} of ${balance.limit} ${noun} credits this period (${balance.percentUsed}%).`,
      ];
    }
    const rate = this.credits.walletRate(balance.creditType);
    const walletCovers = rate > 0 ? Math.floor(wallet.balance / rate) : 0;
    return [
      `You have used all ${balance.limit} ${noun} credits of your ${plan.name} plan this period. ` +
        (walletCovers > 0
          ? `Further ${noun}s are paid from your wallet (${wallet.balance} credits left).`
          : 'Upgrade or buy credits to continue.'),
    ];
  }
}
