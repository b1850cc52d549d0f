import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { PlanEntity } from '../plans/entities/plan.entity';
import { PlanCode } from '../plans/plan-code.enum';
import { CreditType } from '../credits/credit-type.enum';
import { AccountsErrorCode, AccountsException } from './accounts.exception';
import { entitledPlan } from './entitled-plan';
import { AccountEntity, SubscriptionStatus } from './entities/account.entity';
import { GrantRequest, LedgerFunctions } from '../credits/ledger-functions';
import { nextPeriod, Period, periodAt } from './period-math';

const POOLS = ['INTEGRATION', 'MESSAGE', 'PROJECT', 'WALLET'] as const;
const ALLOWANCE_TYPES = [CreditType.MESSAGE, CreditType.INTEGRATION] as const;
/** Account ids already known to exist, so that only an account's first request pays for the check. */
const KNOWN_ACCOUNTS_LIMIT = 100_000;

/** The allowance grant of one account, type and period: its source key makes a second grant impossible. */
export function allowanceSourceKey(accountId: string, type: CreditType, periodStart: Date): string {
  return `allowance:${accountId}:${type}:${periodStart.toISOString()}`;
}

/** One account starting a period: the period, the plan it has there, and other changes to the account row. */
interface PeriodStart {
  account: AccountEntity;
  period: Period;
  planCode: PlanCode;
  changes?: Partial<AccountEntity>;
}

/**
 * Accounts and their periods: created on first sight on the FREE plan with the first period's allowance, and
 * renewed (unused allowance expires, the new period's is granted) when a period has ended.
 */
@Injectable()
export class AccountsService {
  private readonly logger = new Logger(AccountsService.name);
  private readonly known = new Set<string>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerFunctions,
    private readonly clock: Clock,
    @InjectRepository(AccountEntity) private readonly accounts: Repository<AccountEntity>,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  find(accountId: string): Promise<AccountEntity | null> {
    return this.accounts.findOneBy({ id: accountId });
  }

  /**
   * Creates the account on first sight. Concurrent first requests race on the primary key: one inserts, the
   * others wait for it and find the row, so the account and its allowance are created once. Inside a caller's
   * transaction when a manager is given.
   */
  async ensure(accountId: string, manager?: EntityManager): Promise<void> {
    if (this.known.has(accountId)) return;
    const created = manager
      ? await this.create(manager, accountId)
      : await inTransaction(this.dataSource, (transaction) => this.create(transaction, accountId));
    if (created) this.logger.log(`Account ${accountId} created on the FREE plan`);
    if (!manager) this.remember(accountId);
  }

  private remember(accountId: string): void {
    if (this.known.size >= KNOWN_ACCOUNTS_LIMIT) this.known.clear();
    this.known.add(accountId);
  }

  private async create(manager: EntityManager, accountId: string): Promise<boolean> {
    const now = this.clock.now();
    const rows: Array<{ id: string }> = await manager.query(
      `INSERT INTO accounts (id, plan_code, period_anchor, current_period_start, current_period_end, created_at,
                             updated_at)
       SELECT $1, code, $2, $2, $3, $2, $2 FROM plans WHERE code = 'FREE'
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [accountId, now, periodAt(now, now).end],
    );
    if (rows.length === 0) return false;
    await manager.query(
      `INSERT INTO credit_balances (account_id, pool, updated_at) SELECT $1, pool, $2 FROM unnest($3::text[]) pool`,
      [accountId, now, POOLS],
    );
    const plan = await manager.findOneByOrFail(PlanEntity, { code: PlanCode.FREE });
    await this.grantAllowance(manager, accountId, plan, periodAt(now, now), now);
    return true;
  }

  /**
   * The account, renewed first if its period has ended, so that what is shown is the current period. Created on
   * first sight, unless `create` is false (someone else's account, named by an admin): then an account that does not
   * exist is ACCOUNT_NOT_FOUND, and nothing is created.
   */
  async current(accountId: string, options: { create?: boolean } = {}): Promise<AccountEntity> {
    if (options.create !== false) await this.ensure(accountId);
    const now = this.clock.now();
    let account = await this.accounts.findOneBy({ id: accountId });
    if (!account) throw new AccountsException(AccountsErrorCode.ACCOUNT_NOT_FOUND, `There is no account ${accountId}.`);
    if (account.currentPeriodEnd <= now) {
      await inTransaction(this.dataSource, (manager) => this.renewIfDue(manager, accountId, now));
      account = await this.accounts.findOneByOrFail({ id: accountId });
    }
    if (account.status === SubscriptionStatus.PAST_DUE && this.entitledPlan(account, now) !== account.planCode) {
      await inTransaction(this.dataSource, (manager) => this.entitle(manager, accountId, now));
      account = await this.accounts.findOneByOrFail({ id: accountId });
    }
    return account;
  }

  /** The plan whose allowance the account gets at `now` (see entitledPlan): a subscription's plan only while paid. */
  entitledPlan(account: AccountEntity, now: Date): PlanCode {
    return entitledPlan(account, now, this.config.PAST_DUE_GRACE_HOURS);
  }

  /**
   * Gives the account, inside the caller's transaction, the limits of the plan it is entitled to now: the current
   * period's allowance rises at once to a paid plan's, or falls to FREE's when the subscription is not paid (what
   * was used so far still counts). Returns false when nothing changed.
   */
  async entitle(manager: EntityManager, accountId: string, now: Date): Promise<boolean> {
    const account = await this.lock(manager, accountId);
    if (!account) return false;
    const planCode = this.entitledPlan(account, now);
    if (planCode === account.planCode) return false;
    await this.moveAllowanceTo(manager, account, planCode, now);
    this.logger.log(`Account ${account.id} has the ${planCode} limits now (subscription ${account.status})`);
    return true;
  }

  /**
   * Moves an account whose period has ended to the period containing `now`, inside the caller's transaction:
   * a pending downgrade or cancellation takes effect, the old allowance expires and the new one is granted once.
   * The next period starts where the last one ended (a Stripe period longer than a month included; see
   * nextPeriod). Periods missed during downtime are skipped, not granted. Returns false when nothing was due.
   */
  async renewIfDue(manager: EntityManager, accountId: string, now: Date): Promise<boolean> {
    const account = await this.lock(manager, accountId);
    if (!account) return false;
    return (await this.renew(manager, [account], now)) === 1;
  }

  /**
   * renewIfDue for many accounts the caller has locked, together: a few statements whatever their number. Those
   * whose period has not ended are left alone. Returns how many were renewed.
   */
  async renew(manager: EntityManager, accounts: AccountEntity[], now: Date): Promise<number> {
    const due = accounts.filter((account) => account.currentPeriodEnd <= now);
    await this.startPeriods(manager, due.map((account) => this.renewalOf(account, now)), now);
    return due.length;
  }

  /** The period a due account moves to, and its plan there. */
  private renewalOf(account: AccountEntity, now: Date): PeriodStart {
    const period = nextPeriod(account.periodAnchor, account.currentPeriodEnd, now);
    if (!account.subscriptionPlanCode) {
      const planCode = account.pendingPlanCode ?? (account.cancelAtPeriodEnd ? PlanCode.FREE : account.planCode);
      return { account, period, planCode };
    }
    // A subscription's next period: its plan (or the pending downgrade) while it is paid, FREE once it is canceling.
    const subscriptionPlanCode = account.cancelAtPeriodEnd
      ? null
      : (account.pendingPlanCode ?? account.subscriptionPlanCode);
    const planCode = this.entitledPlan({ ...account, subscriptionPlanCode, planCode: PlanCode.FREE }, now);
    return { account, period, planCode, changes: { subscriptionPlanCode } };
  }

  /**
   * Starts `period` on `planCode` (a renewal, or the period a Stripe subscription reports): what is left of earlier
   * periods' allowance expires and this period's is granted, once. The caller holds the account lock.
   */
  startPeriod(
    manager: EntityManager,
    account: AccountEntity,
    period: Period,
    planCode: PlanCode,
    now: Date,
    changes: Partial<AccountEntity> = {},
  ): Promise<void> {
    return this.startPeriods(manager, [{ account, period, planCode, changes }], now);
  }

  /**
   * startPeriod for many accounts at once, in the ledger's lock order (by account id): the allowance of all of them
   * expires in one statement, the new allowance is granted in another, and the accounts move in a third.
   */
  private async startPeriods(manager: EntityManager, starts: PeriodStart[], now: Date): Promise<void> {
    if (starts.length === 0) return;
    const ordered = [...starts].sort((a, b) => (a.account.id < b.account.id ? -1 : a.account.id > b.account.id ? 1 : 0));
    const plans = new Map(
      (await manager.findBy(PlanEntity, { code: In([...new Set(ordered.map((start) => start.planCode))]) })).map((plan) => [
        plan.code,
        plan,
      ]),
    );
    const planOf = (start: PeriodStart) => {
      const plan = plans.get(start.planCode);
      if (!plan) throw new Error(`Plan ${start.planCode} does not exist`);
      return plan;
    };
    await this.ledger.expireAllowances(
      manager,
      ordered.map((start) => ({ accountId: start.account.id, periodStart: start.period.start })),
      now,
    );
    await this.ledger.grants(
      manager,
      ordered.flatMap((start) => this.allowanceGrants(start.account.id, planOf(start), start.period, now)),
    );
    await manager.query(
      `UPDATE accounts a
          SET plan_code = s.plan_code, pending_plan_code = NULL, cancel_at_period_end = false,
              current_period_start = s.period_start, current_period_end = s.period_end, updated_at = $4
         FROM unnest($1::text[], $2::text[], $3::timestamptz[], $5::timestamptz[]) AS s(id, plan_code, period_start, period_end)
        WHERE a.id = s.id`,
      [
        ordered.map((start) => start.account.id),
        ordered.map((start) => start.planCode),
        ordered.map((start) => start.period.start),
        now,
        ordered.map((start) => start.period.end),
      ],
    );
    for (const start of ordered) {
      if (start.changes && Object.keys(start.changes).length > 0) {
        await manager.update(AccountEntity, start.account.id, start.changes);
      }
      this.logger.log(`Account ${start.account.id} started a ${start.planCode} period on ${start.period.start.toISOString()}`);
    }
  }

  /**
   * An upgrade takes effect at once: the current period's allowance rises to the new plan's limits (what was used
   * so far still counts), and any pending downgrade is dropped. The caller holds the account lock.
   */
  async upgradeNow(manager: EntityManager, account: AccountEntity, planCode: PlanCode, now: Date): Promise<void> {
    await this.moveAllowanceTo(manager, account, planCode, now);
    await manager.update(AccountEntity, account.id, { pendingPlanCode: null, updatedAt: now });
    this.logger.log(`Account ${account.id} upgraded to ${planCode}`);
  }

  /**
   * The current period's MESSAGE and INTEGRATION allowance moves to `planCode`'s limits, up or down, and the
   * account takes that plan's limits (PROJECT included). Usage so far still counts: what is already used above a
   * lower limit stays used, and only what is left above it is withheld. The caller holds the account lock.
   */
  private async moveAllowanceTo(
    manager: EntityManager,
    account: AccountEntity,
    planCode: PlanCode,
    now: Date,
  ): Promise<void> {
    const plan = await manager.findOneByOrFail(PlanEntity, { code: planCode });
    // In the ledger's lock order (its pools alphabetically), like every other movement.
    for (const type of [...ALLOWANCE_TYPES].sort()) {
      await this.ledger.setPeriodAllowance(manager, {
        accountId: account.id,
        pool: type,
        period: { start: account.currentPeriodStart, end: account.currentPeriodEnd },
        target: plan.limitOf(type) ?? 0,
        sourceKey: `${allowanceSourceKey(account.id, type, account.currentPeriodStart)}:${planCode}`,
        description: `allowance moved to the ${plan.name} plan's limits`,
        now,
      });
    }
    await manager.update(AccountEntity, account.id, { planCode, updatedAt: now });
  }

  /** Changes subscription fields that move no credits (status, pending plan, Stripe ids). */
  async update(manager: EntityManager, accountId: string, changes: Partial<AccountEntity>): Promise<void> {
    await manager.update(AccountEntity, accountId, { ...changes, updatedAt: this.clock.now() });
  }

  /**
   * The account row, locked for the rest of the caller's transaction. FOR NO KEY UPDATE, never FOR UPDATE: an
   * account's id does not change, and a lock that also shut out the FOR KEY SHARE that every insert into a table
   * referencing accounts takes would let a charge holding the pools (recording a usage alert, say) and a renewal
   * holding the account wait for each other.
   */
  lock(manager: EntityManager, accountId: string): Promise<AccountEntity | null> {
    return manager.findOne(AccountEntity, { where: { id: accountId }, lock: { mode: 'for_no_key_update' } });
  }

  findByStripeCustomer(customerId: string): Promise<AccountEntity | null> {
    return this.accounts.findOneBy({ stripeCustomerId: customerId });
  }

  /** Grants a period's MESSAGE and INTEGRATION allowance of a plan (once per account, type and period). */
  async grantAllowance(
    manager: EntityManager,
    accountId: string,
    plan: PlanEntity,
    period: Period,
    now: Date,
  ): Promise<void> {
    await this.ledger.grants(manager, this.allowanceGrants(accountId, plan, period, now));
  }

  /** The allowance grants of one account, plan and period, keyed by account, type and period. */
  private allowanceGrants(accountId: string, plan: PlanEntity, period: Period, now: Date): GrantRequest[] {
    return ALLOWANCE_TYPES.filter((type) => (plan.limitOf(type) ?? 0) > 0).map((type) => ({
      accountId,
      pool: type,
      kind: 'ALLOWANCE',
      ledgerKind: 'GRANT',
      amount: plan.limitOf(type) ?? 0,
      expiresAt: period.end,
      periodStart: period.start,
      sourceKey: allowanceSourceKey(accountId, type, period.start),
      description: `${plan.name} plan allowance`,
      reference: null,
      now,
    }));
  }
}
