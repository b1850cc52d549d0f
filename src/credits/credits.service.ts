import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, EntityManager } from 'typeorm';
import { AppLinks, appLinks } from '../common/app-links';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { inTransaction, retryLedgerCall } from '../database/transaction';
import { AccountsService } from '../accounts/accounts.service';
import { assertAmount, assertText, Charge, invalid, MAX_DESCRIPTION_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH, normalise, requestHash } from './charge-request';
import { CreditType, GrantKind } from './credit-type.enum';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { LedgerBatches } from './group-commit';
import { HoldStatus } from './entities/credit-hold.entity';
import {
  ChargeLine,
  ChargeLineResult,
  ChargeOutcome,
  ClawBackOutcome,
  GrantOutcome,
  leanHoldLine,
  Ledger,
  RecordedAlert,
  Refusal,
  SettleOutcome,
} from './ledger';
import { refusalError } from './refusal';
import { UsageAlertEvent } from './usage-alert.event';


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

export interface WalletGrant {
  accountId: string;
  amount: number;
  kind: Exclude<GrantKind, 'ALLOWANCE'>;
  /** Unique per grant: a second grant with the same key returns the first. */
  sourceKey: string;
  description?: string | null;
  reference?: string | null;
  expiresAt?: Date | null;
}

/**
 * The one place that moves credits. Reservations, captures, releases, one-step consumption and grants all go
 * through the ledger's database functions; an account whose period has ended is renewed in the same transaction as
 * the charge that found it so.
 */
@Injectable()
export class CreditsService {
  private readonly logger = new Logger(CreditsService.name);
  private readonly links: AppLinks;
  private readonly walletRates: Record<CreditType, number>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly metrics: MetricsService,
    private readonly batches: LedgerBatches,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    this.links = appLinks(config);
    this.walletRates = {
      [CreditType.MESSAGE]: config.WALLET_RATE_MESSAGE,
      [CreditType.INTEGRATION]: config.WALLET_RATE_INTEGRATION,
      [CreditType.PROJECT]: 0,
    };
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
  async reserve(accountId: string, charges: Charge[], options: ChargeOptions = {}): Promise<Hold> {
    const lines = this.linesFor(normalise(charges));
    assertText(options.idempotencyKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY_LENGTH);
    assertText(options.description, 'description', MAX_DESCRIPTION_LENGTH);
    let outcome = await this.charge(accountId, 'HOLD', lines, options);
    if (outcome.status === 'OK' && outcome.holdStatus === 'PENDING' && outcome.expiresAt) {
      // The key's earlier attempt died with its hold pending (a crashed instance): once that hold has expired,
      // give it back and let this retry reserve afresh instead of waiting for the sweeper.
      const staleHold = outcome.holdId!;
      if (new Date(outcome.expiresAt) <= this.clock.now()) {
        await retryLedgerCall(() => this.ledger.release(undefined, accountId, staleHold, 'EXPIRED', this.clock.now()));
        outcome = await this.charge(accountId, 'HOLD', lines, options);
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
   */
  async capture(
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>> = {},
    result?: unknown,
  ): Promise<ChargeLineResult[]> {
    for (const [type, amount] of Object.entries(actuals)) {
      if (amount === undefined) continue;
      if (!Number.isSafeInteger(amount) || amount < 0) throw invalid(`The actual ${type} amount must be 0 or more.`);
    }
    const outcome = Object.values(actuals).every((amount) => amount === undefined)
      ? await this.batches.capture(accountId, holdId, result === undefined ? null : JSON.stringify(result))
      : await retryLedgerCall(() => this.ledger.capture(undefined, accountId, holdId, actuals, this.clock.now(), result));
    if (outcome.status === 'HOLD_EXPIRED' || outcome.status === 'HOLD_RELEASED') {
      return this.chargeLate(accountId, holdId, actuals);
    }
    if (outcome.status !== 'OK') throw this.settleFailure(outcome, holdId);
    if (!outcome.replayed) this.countConsumed(outcome.charges);
    return outcome.charges ?? [];
  }

  /**
   * Captures a hold inside the caller's transaction, so that the caller's own writes and the charge commit together
   * or not at all. A hold given back meanwhile is charged afresh in the same transaction; when that cannot be paid
   * the refusal is thrown and the caller's writes roll back with it.
   */
  async captureWithin(
    manager: EntityManager,
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>> = {},
    result?: unknown,
  ): Promise<ChargeLineResult[]> {
    const now = this.clock.now();
    const whole = Object.values(actuals).every((amount) => amount === undefined);
    const outcome = whole
      ? await this.ledger.captureWhole(manager, accountId, holdId, now, result === undefined ? null : JSON.stringify(result))
      : await this.ledger.capture(manager, accountId, holdId, actuals, now, result);
    if (outcome.status === 'OK') {
      if (!outcome.replayed) this.countConsumed(outcome.charges);
      return outcome.charges ?? [];
    }
    if (outcome.status !== 'HOLD_EXPIRED' && outcome.status !== 'HOLD_RELEASED') throw this.settleFailure(outcome, holdId);
    const charged: ChargeLineResult[] = [];
    for (const line of await this.lateLines(manager, accountId, holdId, actuals)) {
      const options = lateChargeOptions(holdId, line.type);
      const key = options.idempotencyKey;
      const request = {
        accountId,
        mode: 'CONSUME' as const,
        lines: [line],
        now,
        holdTtlSeconds: this.config.HOLD_TTL_SECONDS,
        idempotencyKey: key,
        requestHash: requestHash(accountId, 'CONSUME', [line]),
        description: options.description,
      };
      let late = await this.ledger.charge(manager, request);
      if (late.status === 'RENEW') {
        await this.accounts.renewIfDue(manager, accountId, now);
        late = await this.ledger.charge(manager, request);
      }
      if (late.status !== 'OK') throw this.failure(late);
      charged.push(...(late.charges ?? []));
    }
    return charged;
  }

  /** Holds of requests still running here: none of them expires before another `HOLD_TTL_SECONDS` from now. */
  async keepHoldsAlive(holdIds: string[]): Promise<number> {
    if (holdIds.length === 0) return 0;
    const until = new Date(this.clock.now().getTime() + this.config.HOLD_TTL_SECONDS * 1000);
    return retryLedgerCall(() => this.ledger.extendHolds(holdIds, until));
  }

  /**
   * The work of a request succeeded but its hold was given back before the capture (the sweeper took it while the
   * database or this instance stalled for longer than the hold's life, or a shutdown released it while the handler
   * was still running): a capture says the work was done, so its charges are taken afresh, once, if they can still
   * be paid. What cannot be paid any more is recorded as a shortfall for an operator, and counted.
   */
  private async chargeLate(
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>>,
  ): Promise<ChargeLineResult[]> {
    const charged: ChargeLineResult[] = [];
    for (const line of await this.lateLines(undefined, accountId, holdId, actuals)) {
      const outcome = await this.charge(accountId, 'CONSUME', [line], lateChargeOptions(holdId, line.type));
      if (outcome.status === 'OK') {
        charged.push(...(outcome.charges ?? []));
        continue;
      }
      this.metrics.creditsShortfall.inc({ reason: 'LATE_CAPTURE', type: line.type }, line.amount);
      await retryLedgerCall(() =>
        this.ledger.recordShortfall({
          accountId,
          pool: line.type,
          type: line.type,
          amount: line.amount,
          reason: 'LATE_CAPTURE',
          reference: holdId,
          description: `capture after hold ${holdId} was given back: ${outcome.status}`,
          now: this.clock.now(),
        }),
      );
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
    return (await this.ledger.holdCharges(manager, accountId, holdId))
      .map((charge) => ({ type: charge.type, amount: Math.min(actuals[charge.type] ?? charge.amount, charge.amount) }))
      .filter((charge) => charge.amount > 0)
      .map((charge) => ({ ...charge, walletRate: this.walletRate(charge.type) }));
  }

  /** Gives a pending hold back whole. Releasing a settled hold changes nothing. */
  async release(accountId: string, holdId: string): Promise<void> {
    const outcome = await retryLedgerCall(() =>
      this.ledger.release(undefined, accountId, holdId, 'RELEASED', this.clock.now()),
    );
    if (outcome.status === 'NOT_FOUND') throw this.settleFailure(outcome, holdId);
  }

  /**
   * Reserve and capture in one step. A refusal is an answer, not an error: `allowed` is false and nothing was
   * charged.
   */
  async consume(accountId: string, charge: Charge, options: ChargeOptions = {}): Promise<ConsumeOutcome> {
    const [line] = this.linesFor(normalise([charge]));
    assertText(options.idempotencyKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY_LENGTH);
    assertText(options.description, 'description', MAX_DESCRIPTION_LENGTH);
    let outcome: ChargeOutcome | null = null;
    if (line.type !== CreditType.PROJECT) {
      const key = options.idempotencyKey ?? null;
      outcome = await this.batches.consume({
        account: accountId,
        type: line.type,
        amount: line.amount,
        walletRate: line.walletRate,
        key,
        hash: key ? requestHash(accountId, 'CONSUME', [line]) : null,
        description: options.description ?? null,
      });
      if (outcome.status === 'OK') this.publishAlerts(accountId, outcome.alerts);
      if (outcome.status === 'OK' || outcome.status === 'REFUSED') this.count('CONSUME', outcome);
    }
    // PROJECT units, and accounts that must first be created or renewed, take the one-by-one path.
    if (!outcome || outcome.status === 'RENEW' || outcome.status === 'NO_ACCOUNT') {
      outcome = await this.charge(accountId, 'CONSUME', [line], options);
    }
    if (outcome.status === 'REFUSED') {
      return {
        allowed: false,
        creditType: line.type,
        charged: 0,
        fromAllowance: 0,
        fromWallet: 0,
        remaining: outcome.available,
        replayed: false,
        refusal: this.refusalError(outcome),
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
  }

  /**
   * Adds wallet credits once per source key; inside the caller's transaction when a manager is given (the
   * account must exist then).
   */
  async grantWallet(request: WalletGrant, manager?: EntityManager): Promise<GrantOutcome> {
    assertAmount(request.amount);
    assertText(request.sourceKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY_LENGTH + 50);
    assertText(request.description, 'description', MAX_DESCRIPTION_LENGTH);
    if (!manager) await this.accounts.ensure(request.accountId);
    const run = () =>
      this.ledger.grant(manager, {
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
    const outcome = await (manager ? run() : retryLedgerCall(run));
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
    const outcome = await this.ledger.clawBack(manager, { ...request, now: this.clock.now() });
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
    return this.ledger.returnUnits(manager, { accountId, type, amount, reference, description, now: this.clock.now() });
  }

  /** Releases holds whose time ran out; returns how many. Safe to run on many instances at once. */
  releaseExpiredHolds(limit = 500, now: Date = this.clock.now()): Promise<number> {
    return this.ledger.releaseExpiredHolds(now, limit);
  }

  /** The 402-style error for a refused charge (see refusalError). */
  refusalError(refusal: Refusal): CreditsException {
    return refusalError(refusal, this.links, this.walletRate(refusal.creditType) > 0);
  }

  private linesFor(charges: Charge[]): ChargeLine[] {
    return charges.map((charge) => ({ ...charge, walletRate: this.walletRate(charge.type) }));
  }

  private async charge(
    accountId: string,
    mode: 'HOLD' | 'CONSUME',
    lines: ChargeLine[],
    options: ChargeOptions,
  ): Promise<ChargeOutcome> {
    const key = options.idempotencyKey ?? null;
    const request = {
      accountId,
      mode,
      lines,
      holdTtlSeconds: this.config.HOLD_TTL_SECONDS,
      idempotencyKey: key,
      requestHash: key ? requestHash(accountId, mode, lines) : null,
      description: options.description ?? null,
    };
    return retryLedgerCall(async () => {
      const now = this.clock.now();
      let outcome = await this.chargeOnce(request, now);
      if (outcome.status === 'NO_ACCOUNT') {
        await this.accounts.ensure(accountId);
        outcome = await this.chargeOnce(request, now);
      }
      if (outcome.status === 'RENEW') {
        outcome = await inTransaction(this.dataSource, async (manager) => {
          await this.accounts.renewIfDue(manager, accountId, now);
          return this.ledger.charge(manager, { ...request, now });
        });
      }
      if (outcome.status === 'OK') this.publishAlerts(accountId, outcome.alerts);
      this.count(mode, outcome);
      return outcome;
    });
  }

  /** One attempt outside a transaction; a guarded request's usual hold shares a commit with others. */
  private chargeOnce(request: Omit<Parameters<Ledger['charge']>[1], 'now'>, now: Date): Promise<ChargeOutcome> {
    const line = leanHoldLine(request);
    if (line && !request.idempotencyKey) {
      return this.batches.hold({
        account: request.accountId,
        type: line.type,
        amount: line.amount,
        walletRate: line.walletRate,
        description: request.description,
      });
    }
    return this.ledger.charge(undefined, { ...request, now });
  }

  private count(mode: 'HOLD' | 'CONSUME', outcome: ChargeOutcome): void {
    if (outcome.status === 'REFUSED') this.metrics.creditsRefused.inc({ type: outcome.creditType });
    if (outcome.status === 'OK' && mode === 'CONSUME' && !outcome.replayed) this.countConsumed(outcome.charges);
  }

  private countConsumed(charges: ChargeLineResult[] | undefined): void {
    for (const line of charges ?? []) this.metrics.creditsConsumed.inc({ type: line.type }, line.amount);
  }

  /** Published after the charge committed, so listeners never hear of an alert that was rolled back. */
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

/** A fresh charge standing for a hold's capture, keyed by the hold so that it is taken at most once. */
function lateChargeOptions(holdId: string, type: CreditType): { idempotencyKey: string; description: string } {
  return {
    idempotencyKey: `late-capture:${holdId}:${type}`,
    description: `capture of hold ${holdId} after it was given back`,
  };
}
