import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, EntityManager } from 'typeorm';
import { AppLinks, appLinks } from '../common/app-links';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { inTransaction } from '../database/transaction';
import { AccountsService } from '../accounts/accounts.service';
import { assertAmount, assertText, Charge, eventOfBatchError, invalid, MAX_DESCRIPTION_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH, normalise, requestHash } from './charge-request';
import { CreditType, GrantKind } from './credit-type.enum';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { GroupCommit } from './group-commit';
import { HoldStatus } from './entities/credit-hold.entity';
import {
  BatchedConsume,
  ChargeLine,
  ChargeLineResult,
  ChargeOutcome,
  ClawBackOutcome,
  GrantOutcome,
  GuardOperation,
  LedgerFunctions,
  RecordedAlert,
  Refusal,
  SettleOutcome,
} from './ledger-functions';
import { refusalError } from './refusal';
import { UsageAlertEvent } from './usage-alert.event';
import { AccountsErrorCode, AccountsException } from '../accounts/accounts.exception';


export interface ChargeOptions {
  /** The same key with the same input charges once; with a different input it is refused. */
  idempotencyKey?: string | null;
  description?: string | null;
}

export interface Hold {
  id: string;
  status: HoldStatus;
  /** True when the idempotency key had already reserved these charges. */
  replayed: boolean;
  /** For a replayed captured hold: what the operation answered the first time. */
  result?: unknown;
}

export interface ConsumeOutcome {
  allowed: boolean;
  creditType: CreditType;
  charged: number;
  fromAllowance: number;
  fromWallet: number;
  remaining: number | null;
  replayed: boolean;
  /** Why it was refused, when it was. */
  refusal?: CreditsException;
}

/** One usage event of a metering batch. */
export interface UsageEvent {
  accountId: string;
  charge: Charge;
  options?: ChargeOptions;
}

export interface WalletGrant {
  accountId: string;
  amount: number;
  kind: Exclude<GrantKind, 'ALLOWANCE'>;
  /** Unique per grant: a second grant with the same key returns the first. */
  sourceKey: string;
  description?: string | null;
  reference?: string | null;
  expiresAt?: Date | null;
  /**
   * An account the ledger does not know yet is created for the grant, unless this is false: then the grant is
   * refused with ACCOUNT_NOT_FOUND and nothing is created.
   */
  createAccount?: boolean;
}



/** The one MESSAGE or INTEGRATION amount of a charge, or null for any other charge. */
function singleAmount(lines: ChargeLine[]): ChargeLine | null {
  const [line, ...more] = lines;
  return more.length === 0 && line.type !== CreditType.PROJECT ? line : null;
}

/** A charge as the ledger routes it: held until captured or released (`hold`), or taken at once (`consume`). */
interface ChargeOperation {
  verb: 'hold' | 'consume';
  accountId: string;
  lines: ChargeLine[];
  idempotencyKey: string | null;
  description: string | null;
}

/** A capture: of the whole hold (`actuals` null), or of the actual amounts reported. */
interface CaptureOperation {
  accountId: string;
  holdId: string;
  actuals: Partial<Record<CreditType, number>> | null;
  /** The operation's serialised answer, kept for replays of its idempotency key. */
  result: string | null;
}

/**
 * The ledger: the one place that moves credits, with one verb per movement (hold, capture, release, consume, grant,
 * claw back, return units). Each verb checks its input, runs through the one route (`charge` / `settle`) to the
 * ledger's database functions, and answers in the domain's terms; an account the ledger meets for the first time is
 * created, and one whose period has ended is renewed, in one place (`chargeReady`).
 */
@Injectable()
export class CreditsService {
  private readonly logger = new Logger(CreditsService.name);
  private readonly links: AppLinks;
  private readonly walletRates: Record<CreditType, number>;
  /** One-step consumptions of one MESSAGE or INTEGRATION amount, in group commit. */
  private readonly consumption: GroupCommit<BatchedConsume, ChargeOutcome>;
  /** Guarded requests' keyless holds and whole captures, in group commit (a hold and a capture share a transaction). */
  private readonly guard: GroupCommit<GuardOperation, ChargeOutcome | SettleOutcome>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly functions: LedgerFunctions,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    this.links = appLinks(config);
    this.walletRates = {
      [CreditType.MESSAGE]: config.WALLET_RATE_MESSAGE,
      [CreditType.INTEGRATION]: config.WALLET_RATE_INTEGRATION,
      [CreditType.PROJECT]: 0,
    };
    const size = config.LEDGER_BATCH_SIZE;
    // Both streams together leave at least one connection of the pool to everything else.
    const concurrency = Math.max(1, Math.min(config.LEDGER_BATCH_CONCURRENCY, Math.floor((config.DATABASE_POOL_SIZE - 1) / 2)));
    this.consumption = new GroupCommit((requests) => functions.consumeBatch(requests, clock.now()), size, concurrency);
    this.guard = new GroupCommit(
      // A batch of one is the function the batch would run for it, without the batch's arrays.
      (operations) =>
        operations.length === 1
          ? this.guardAlone(operations[0]).then((outcome) => [outcome])
          : functions.guardBatch(operations, clock.now(), config.HOLD_TTL_SECONDS),
      size,
      concurrency,
    );
  }

  /** Wallet credits paid per unit of a type once its allowance is used up (0: the wallet does not pay). */
  walletRate(type: CreditType): number {
    return this.walletRates[type];
  }

  /**
   * Takes every charge out of what is available, or none of them: refused charges throw INSUFFICIENT_CREDITS
   * (QUOTA_EXCEEDED for PROJECT) and change nothing. The hold must then be captured or released; if neither
   * happens it expires after HOLD_TTL_SECONDS and the sweeper gives the credits back.
   */
  async hold(accountId: string, charges: Charge[], options: ChargeOptions = {}): Promise<Hold> {
    const operation = this.chargeOperation('hold', accountId, normalise(charges), options);
    let [outcome] = await this.chargeReady([operation]);
    if (outcome.status === 'OK' && outcome.holdStatus === 'PENDING' && outcome.expiresAt) {
      // The key's earlier attempt died with its hold pending (a crashed instance): once that hold has expired,
      // give it back and let this retry reserve afresh instead of waiting for the sweeper.
      if (new Date(outcome.expiresAt) <= this.clock.now()) {
        await this.functions.release(undefined, accountId, outcome.holdId!, 'EXPIRED', this.clock.now());
        [outcome] = await this.chargeReady([operation]);
      }
    }
    if (outcome.status !== 'OK') throw this.failure(outcome);
    return {
      id: outcome.holdId!,
      status: outcome.holdStatus ?? 'PENDING',
      replayed: outcome.replayed,
      result: outcome.result,
    };
  }

  /**
   * Settles a hold; `actuals` may lower a charge (the rest goes back, wallet credits first). `result` is kept for
   * replays of the same idempotency key. Capturing a hold twice is harmless; capturing one that was given back
   * meanwhile charges it afresh (see chargeLate).
   *
   * With `manager`, the capture runs in the caller's transaction, so that the caller's own writes and the charge
   * commit together or not at all; a late charge that cannot be paid is then thrown, and the caller's writes roll
   * back with it.
   */
  async capture(
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>> = {},
    result?: unknown,
    manager?: EntityManager,
  ): Promise<ChargeLineResult[]> {
    for (const [type, amount] of Object.entries(actuals)) {
      if (amount === undefined) continue;
      if (!Number.isSafeInteger(amount) || amount < 0) throw invalid(`The actual ${type} amount must be 0 or more.`);
    }
    const whole = Object.values(actuals).every((amount) => amount === undefined);
    const serialised = result === undefined ? null : JSON.stringify(result);
    const outcome = await this.settle({ accountId, holdId, actuals: whole ? null : actuals, result: serialised }, manager);
    if (outcome.status === 'HOLD_EXPIRED' || outcome.status === 'HOLD_RELEASED') {
      return this.chargeLate(accountId, holdId, actuals, manager);
    }
    if (outcome.status !== 'OK') throw this.settleFailure(outcome, holdId);
    return outcome.charges ?? [];
  }

  /** Holds of requests still running here: none of them expires before another `HOLD_TTL_SECONDS` from now. */
  async keepHoldsAlive(holdIds: string[]): Promise<number> {
    if (holdIds.length === 0) return 0;
    const until = new Date(this.clock.now().getTime() + this.config.HOLD_TTL_SECONDS * 1000);
    return this.functions.extendHolds(holdIds, until);
  }

  /**
   * The work of a request succeeded but its hold was given back before the capture (the sweeper took it while the
   * database or this instance stalled for longer than the hold's life, or a shutdown released it while the handler
   * was still running): a capture says the work was done, so its charges are taken afresh, once (keyed by the
   * hold), if they can still be paid. In the caller's transaction what cannot be paid is thrown; otherwise it is
   * recorded as a shortfall for an operator, and counted.
   */
  private async chargeLate(
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>>,
    manager: EntityManager | undefined,
  ): Promise<ChargeLineResult[]> {
    const charged: ChargeLineResult[] = [];
    for (const line of await this.lateLines(manager, accountId, holdId, actuals)) {
      const operation: ChargeOperation = {
        verb: 'consume',
        accountId,
        lines: [line],
        idempotencyKey: `late-capture:${holdId}:${line.type}`,
        description: `capture of hold ${holdId} after it was given back`,
      };
      const [outcome] = await this.chargeReady([operation], manager);
      if (outcome.status === 'OK') {
        charged.push(...(outcome.charges ?? []));
        continue;
      }
      if (manager) throw this.failure(outcome);
      this.metrics.creditsShortfall.inc({ reason: 'LATE_CAPTURE', type: line.type }, line.amount);
      await this.functions.recordShortfall({
        accountId,
        pool: line.type,
        type: line.type,
        amount: line.amount,
        reason: 'LATE_CAPTURE',
        reference: holdId,
        description: `capture after hold ${holdId} was given back: ${outcome.status}`,
        now: this.clock.now(),
      });
      this.logger.error(
        `Hold ${holdId} of ${accountId} was given back before its request succeeded, and ${line.amount} ${line.type} ` +
          `could not be charged again (${outcome.status}); recorded as a shortfall`,
      );
    }
    return charged;
  }

  /** What a hold reserved, lowered to the actual amounts reported, as charge lines (zero amounts left out). */
  private async lateLines(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>>,
  ): Promise<ChargeLine[]> {
    return (await this.functions.holdCharges(manager, accountId, holdId))
      .map((charge) => ({ type: charge.type, amount: Math.min(actuals[charge.type] ?? charge.amount, charge.amount) }))
      .filter((charge) => charge.amount > 0)
      .map((charge) => ({ ...charge, walletRate: this.walletRate(charge.type) }));
  }

  /** Gives a pending hold back whole. Releasing a settled hold changes nothing. */
  async release(accountId: string, holdId: string): Promise<void> {
    const outcome = await this.functions.release(undefined, accountId, holdId, 'RELEASED', this.clock.now());
    if (outcome.status === 'NOT_FOUND') throw this.settleFailure(outcome, holdId);
  }

  /**
   * Reserve and capture in one step. A refusal is an answer, not an error: `allowed` is false and nothing was
   * charged.
   */
  async consume(accountId: string, charge: Charge, options: ChargeOptions = {}): Promise<ConsumeOutcome> {
    const [outcome] = await this.consumeMany([{ accountId, charge, options }]);
    if (outcome.refusal?.code === CreditsErrorCode.IDEMPOTENCY_CONFLICT) throw outcome.refusal;
    return outcome;
  }

  /**
   * Many usage events at once (a metering batch): each is charged as `consume` would charge it alone, with its own
   * idempotency key and answer (a key reused for another event is that event's refusal), one account's events in
   * the order given, together in as few group-commit batches as they fit. An event that is not well formed refuses
   * the whole batch before anything is charged.
   */
  async consumeMany(events: UsageEvent[]): Promise<ConsumeOutcome[]> {
    const operations = events.map((event, index) => {
      try {
        return this.chargeOperation('consume', event.accountId, normalise([event.charge]), event.options ?? {});
      } catch (error) {
        throw eventOfBatchError(error, index, events.length);
      }
    });
    const outcomes = await this.chargeReady(operations);
    return outcomes.map((outcome, index) => {
      const [line] = operations[index].lines;
      if (outcome.status === 'REFUSED' || outcome.status === 'IDEMPOTENCY_CONFLICT') {
        return {
          allowed: false,
          creditType: line.type,
          charged: 0,
          fromAllowance: 0,
          fromWallet: 0,
          remaining: outcome.status === 'REFUSED' ? outcome.available : null,
          replayed: false,
          refusal: this.failure(outcome),
        };
      }
      if (outcome.status !== 'OK') throw this.failure(outcome);
      const [result] = outcome.charges ?? [];
      return {
        allowed: true,
        creditType: result.type,
        charged: result.amount,
        fromAllowance: result.fromAllowance,
        fromWallet: result.fromWallet,
        remaining: result.remaining,
        replayed: outcome.replayed,
      };
    });
  }

  /**
   * Adds wallet credits once per source key; inside the caller's transaction when a manager is given (the
   * account must exist then).
   */
  async grant(request: WalletGrant, manager?: EntityManager): Promise<GrantOutcome> {
    assertAmount(request.amount);
    assertText(request.sourceKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY_LENGTH + 50);
    assertText(request.description, 'description', MAX_DESCRIPTION_LENGTH);
    if (request.createAccount === false && !(await this.accounts.find(request.accountId))) {
      throw new AccountsException(
        AccountsErrorCode.ACCOUNT_NOT_FOUND,
        `There is no account ${request.accountId}, so nothing was granted. Ask for it to be created with the grant ` +
          '(createAccount) if it should exist.',
        { accountId: request.accountId },
      );
    }
    if (!manager) await this.accounts.ensure(request.accountId);
    const outcome = await this.functions.grant(manager, {
      accountId: request.accountId,
      pool: 'WALLET',
      kind: request.kind,
      ledgerKind: request.kind === 'PURCHASE' ? 'PURCHASE' : request.kind === 'ADMIN' ? 'ADJUST' : 'GRANT',
      amount: request.amount,
      expiresAt: request.expiresAt ?? null,
      periodStart: null,
      sourceKey: request.sourceKey,
      description: request.description ?? null,
      reference: request.reference ?? null,
      now: this.clock.now(),
    });
    if (outcome.refused) {
      throw new CreditsException(
        CreditsErrorCode.BALANCE_LIMIT,
        `This grant would take the wallet to ${outcome.balance + request.amount} credits; a wallet holds at most ` +
          `${outcome.maxBalance}. Nothing was granted.`,
        { balance: outcome.balance, maxBalance: outcome.maxBalance },
      );
    }
    return outcome;
  }

  /**
   * Takes up to `max` credits back from the wallet (a refunded or disputed purchase), the purchase's own grant
   * first and then any other wallet credits, since credits are fungible. The wallet never goes below zero; what was
   * spent already is recorded as a shortfall, logged and counted.
   */
  async clawBack(
    manager: EntityManager,
    request: { accountId: string; grantId: string; max: number; reference: string; description: string },
  ): Promise<ClawBackOutcome> {
    assertAmount(request.max, 'max');
    const outcome = await this.functions.clawBack(manager, { ...request, now: this.clock.now() });
    if (outcome.shortfall > 0) {
      this.metrics.creditsShortfall.inc({ reason: 'CLAWBACK', type: 'WALLET' }, outcome.shortfall);
      this.logger.warn(
        `${request.description} for ${request.accountId}: ${outcome.shortfall} credits were spent already and ` +
          'could not be taken back; recorded as a shortfall',
      );
    }
    return outcome;
  }

  /**
   * Gives quota units in use back (a deleted project), inside the caller's transaction so that the unit returns
   * exactly when the thing that held it is gone.
   */
  returnUnits(
    manager: EntityManager,
    accountId: string,
    type: CreditType,
    amount: number,
    reference: string,
    description: string,
  ): Promise<number> {
    assertAmount(amount);
    return this.functions.returnUnits(manager, { accountId, type, amount, reference, description, now: this.clock.now() });
  }

  /** Gives back the credits of holds whose time ran out; returns how many. Safe to run on many instances at once. */
  expireHolds(limit = 500, now: Date = this.clock.now()): Promise<number> {
    return this.functions.releaseExpiredHolds(now, limit);
  }

  /** The 402-style error for a refused charge (see refusalError). */
  refusalError(refusal: Refusal): CreditsException {
    return refusalError(refusal, this.links, this.walletRate(refusal.creditType) > 0);
  }

  private chargeOperation(verb: ChargeOperation['verb'], accountId: string, charges: Charge[], options: ChargeOptions): ChargeOperation {
    assertText(options.idempotencyKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY_LENGTH);
    assertText(options.description, 'description', MAX_DESCRIPTION_LENGTH);
    return {
      verb,
      accountId,
      lines: charges.map((charge) => ({ ...charge, walletRate: this.walletRate(charge.type) })),
      idempotencyKey: options.idempotencyKey ?? null,
      description: options.description ?? null,
    };
  }

  /**
   * Charges, making accounts ready when the ledger says so: an account it does not know yet is created, one whose
   * period has ended is renewed (in the caller's transaction, when there is one), and what met them is charged
   * again, in order. Neither answer changed anything.
   */
  private async chargeReady(operations: ChargeOperation[], manager?: EntityManager): Promise<ChargeOutcome[]> {
    const outcomes = await this.charge(operations, manager);
    for (let round = 0; round < 2; round++) {
      const unready = outcomes.flatMap((outcome, index) =>
        outcome.status === 'NO_ACCOUNT' || outcome.status === 'RENEW' ? [index] : [],
      );
      if (unready.length === 0) break;
      const statuses = new Map(unready.map((index) => [operations[index].accountId, outcomes[index].status]));
      for (const [accountId, status] of statuses) {
        if (status === 'NO_ACCOUNT') {
          await this.accounts.ensure(accountId, manager);
          continue;
        }
        const now = this.clock.now();
        if (manager) await this.accounts.renewIfDue(manager, accountId, now);
        else await inTransaction(this.dataSource, (renewal) => this.accounts.renewIfDue(renewal, accountId, now));
      }
      const again = await this.charge(unready.map((index) => operations[index]), manager);
      unready.forEach((index, position) => (outcomes[index] = again[position]));
    }
    return outcomes;
  }

  /**
   * The route of every charge. Outside a caller's transaction, one MESSAGE or INTEGRATION amount joins a group
   * commit: a consumption the consumption stream, a guarded request's keyless hold the guard stream. Everything
   * else is one call of credits_hold (one such amount) or credits_charge (any charges). One answer per operation,
   * in order.
   */
  private async charge(operations: ChargeOperation[], manager?: EntityManager): Promise<ChargeOutcome[]> {
    const consumptions: Array<{ index: number; request: BatchedConsume }> = [];
    const holds: Array<{ index: number; request: GuardOperation }> = [];
    const alone: number[] = [];
    operations.forEach((operation, index) => {
      const { accountId, lines, idempotencyKey: key, description } = operation;
      const single = singleAmount(lines);
      if (manager || !single) alone.push(index);
      else if (operation.verb === 'consume') {
        const hash = key ? requestHash(accountId, 'CONSUME', lines) : null;
        consumptions.push({ index, request: { account: accountId, ...single, key, hash, description } });
      } else if (!key) holds.push({ index, request: { account: accountId, ...single, hold: null, description, result: null } });
      else alone.push(index);
    });
    const outcomes: ChargeOutcome[] = new Array(operations.length);
    const [consumed, held] = await Promise.all([
      consumptions.length ? this.consumption.submitAll(consumptions.map((item) => item.request)) : [],
      holds.length ? this.guard.submitAll(holds.map((item) => item.request)) : [],
    ]);
    consumptions.forEach((item, position) => (outcomes[item.index] = consumed[position]));
    holds.forEach((item, position) => (outcomes[item.index] = held[position] as ChargeOutcome));
    for (const index of alone) outcomes[index] = await this.chargeAlone(operations[index], manager);
    operations.forEach((operation, index) => this.observe(operation, outcomes[index], manager));
    return outcomes;
  }

  /** One call of credits_hold (one MESSAGE or INTEGRATION amount held) or credits_charge (anything else). */
  private chargeAlone(operation: ChargeOperation, manager: EntityManager | undefined): Promise<ChargeOutcome> {
    const { accountId, lines, idempotencyKey: key, description } = operation;
    const mode = operation.verb === 'hold' ? 'HOLD' : 'CONSUME';
    const request = {
      accountId,
      now: this.clock.now(),
      holdTtlSeconds: this.config.HOLD_TTL_SECONDS,
      idempotencyKey: key,
      requestHash: key ? requestHash(accountId, mode, lines) : null,
      description,
    };
    const single = singleAmount(lines);
    return single && mode === 'HOLD'
      ? this.functions.hold(manager, { ...request, line: single })
      : this.functions.charge(manager, { ...request, mode, lines });
  }

  /** Counts what a charge did, and publishes its alerts once they are committed. */
  private observe(operation: ChargeOperation, outcome: ChargeOutcome, manager: EntityManager | undefined): void {
    if (outcome.status === 'REFUSED') this.metrics.creditsRefused.inc({ type: outcome.creditType });
    if (outcome.status !== 'OK') return;
    if (operation.verb === 'consume' && !outcome.replayed) this.countConsumed(outcome.charges);
    // Published after the charge committed, so listeners never hear of an alert that was rolled back.
    if (!manager) this.publishAlerts(operation.accountId, outcome.alerts);
  }

  /** The route of every capture: a whole one outside a caller's transaction joins the guard stream. */
  private async settle(operation: CaptureOperation, manager?: EntityManager): Promise<SettleOutcome> {
    const { accountId, holdId, actuals, result } = operation;
    const outcome = actuals
      ? await this.functions.capture(manager, accountId, holdId, actuals, this.clock.now(), result)
      : manager
        ? await this.functions.captureWhole(manager, accountId, holdId, this.clock.now(), result)
        : ((await this.guard.submit({
            account: accountId,
            hold: holdId,
            type: null,
            amount: null,
            walletRate: null,
            description: null,
            result,
          })) as SettleOutcome);
    if (outcome.status === 'OK' && !outcome.replayed) this.countConsumed(outcome.charges);
    return outcome;
  }

  /** A guard-stream operation on its own: credits_hold or credits_capture_whole. */
  private guardAlone(operation: GuardOperation): Promise<ChargeOutcome | SettleOutcome> {
    const now = this.clock.now();
    if (operation.hold) return this.functions.captureWhole(undefined, operation.account, operation.hold, now, operation.result);
    return this.functions.hold(undefined, {
      accountId: operation.account,
      line: { type: operation.type!, amount: operation.amount!, walletRate: operation.walletRate! },
      now,
      holdTtlSeconds: this.config.HOLD_TTL_SECONDS,
      idempotencyKey: null,
      requestHash: null,
      description: operation.description,
    });
  }

  private countConsumed(charges: ChargeLineResult[] | undefined): void {
    for (const line of charges ?? []) this.metrics.creditsConsumed.inc({ type: line.type }, line.amount);
  }

  private publishAlerts(accountId: string, alerts: RecordedAlert[] | undefined): void {
    for (const alert of alerts ?? []) {
      this.events.emit(
        UsageAlertEvent.NAME,
        new UsageAlertEvent(accountId, alert.creditType, alert.threshold, alert.used, alert.limit, new Date(alert.periodStart)),
      );
    }
  }

  private failure(outcome: ChargeOutcome): CreditsException {
    if (outcome.status === 'REFUSED') return this.refusalError(outcome);
    if (outcome.status === 'IDEMPOTENCY_CONFLICT') {
      return new CreditsException(
        CreditsErrorCode.IDEMPOTENCY_CONFLICT,
        'This idempotency key was already used with a different request.',
      );
    }
    throw new Error(`Unexpected ledger outcome ${outcome.status}`);
  }

  private settleFailure(outcome: SettleOutcome, holdId: string): CreditsException {
    switch (outcome.status) {
      case 'NOT_FOUND':
        return new CreditsException(CreditsErrorCode.HOLD_NOT_FOUND, `There is no hold ${holdId} on this account.`);
      case 'HOLD_EXPIRED':
        return new CreditsException(CreditsErrorCode.HOLD_EXPIRED, `Hold ${holdId} expired; its credits went back.`);
      case 'HOLD_RELEASED':
        return new CreditsException(CreditsErrorCode.HOLD_NOT_PENDING, `Hold ${holdId} was already released.`);
      case 'INVALID_ACTUAL':
        return invalid(
          `The actual ${outcome.creditType} amount ${outcome.actual} exceeds the ${outcome.reserved} reserved.`,
          'actual',
        );
      default:
        throw new Error(`Unexpected settle outcome ${outcome.status}`);
    }
  }
}
