import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { PlanCode } from '../plans/plan-code.enum';
import { CreditPool, CreditType, GrantKind, LedgerKind } from './credit-type.enum';
import { HoldStatus } from './entities/credit-hold.entity';

export interface ChargeLine {
  type: CreditType;
  amount: number;
  /** Wallet credits per unit once the allowance is used up; 0 when the wallet may not pay. */
  walletRate: number;
}

export interface ChargeLineResult {
  type: CreditType;
  amount: number;
  fromAllowance: number;
  fromWallet: number;
  /** What is left to pay for this type (allowance + wallet at its rate); null when unlimited. */
  remaining: number | null;
}

export interface RecordedAlert {
  creditType: CreditType;
  threshold: 80 | 100;
  used: number;
  limit: number;
  periodStart: string;
}

export interface Refusal {
  status: 'REFUSED';
  creditType: CreditType;
  required: number;
  available: number;
  limit: number | null;
  planCode: PlanCode;
  planName: string;
}

export type ChargeOutcome =
  | {
      status: 'OK';
      replayed: boolean;
      holdId: string | null;
      holdStatus?: HoldStatus;
      charges?: ChargeLineResult[];
      /** A replayed captured hold: what the guarded operation answered the first time. */
      result?: unknown;
      /** Usage alerts this charge crossed, recorded once. */
      alerts?: RecordedAlert[];
      /** A replayed hold: when it expires. */
      expiresAt?: string;
    }
  | Refusal
  | { status: 'RENEW' | 'NO_ACCOUNT' | 'IDEMPOTENCY_CONFLICT' };

export type SettleOutcome =
  | { status: 'OK'; holdStatus: HoldStatus; replayed: boolean; charges?: ChargeLineResult[] }
  | { status: 'NOT_FOUND' | 'HOLD_EXPIRED' | 'HOLD_RELEASED' }
  | { status: 'INVALID_ACTUAL'; creditType: CreditType; reserved: number; actual: number };

/** One consumption of a batch, in credits_consume_batch's terms. */
export interface BatchedConsume {
  account: string;
  type: CreditType;
  amount: number;
  walletRate: number;
  key: string | null;
  hash: string | null;
  description: string | null;
}

/** A guarded operation's usual hold, one MESSAGE or INTEGRATION amount: its line, or null for any other charge. */
export function leanHoldLine(request: { mode: 'HOLD' | 'CONSUME'; lines: ChargeLine[] }): ChargeLine | null {
  const [line, ...more] = request.lines;
  return request.mode === 'HOLD' && more.length === 0 && line.type !== CreditType.PROJECT ? line : null;
}

/** One operation of a guard batch: the whole capture of `hold`, or, when `hold` is null, a hold of `amount` `type`. */
export interface GuardOperation {
  account: string;
  hold: string | null;
  type: CreditType | null;
  amount: number | null;
  walletRate: number | null;
  description: string | null;
  /** A capture's serialised answer of the guarded operation, kept for replays of its idempotency key. */
  result: string | null;
}

export interface GrantRequest {
  accountId: string;
  pool: Exclude<CreditPool, 'PROJECT'>;
  kind: GrantKind;
  ledgerKind: LedgerKind;
  amount: number;
  expiresAt: Date | null;
  periodStart: Date | null;
  sourceKey: string;
  description: string | null;
  reference: string | null;
  now: Date;
}

export interface GrantOutcome {
  created: boolean;
  refused?: undefined;
  grantId: string;
  transactionId: number;
  accountId: string;
  pool: CreditPool;
  amount: number;
}

/** The wallet would grow past what a balance may show (a GraphQL Int, with room for an allowance); nothing changed. */
export interface GrantRefusal {
  created: false;
  refused: 'BALANCE_LIMIT';
  balance: number;
  maxBalance: number;
}

export interface ClawBackOutcome {
  taken: number;
  /** What is held by pending requests: owed by the wallet, taken when it comes back. */
  owed: number;
  /** What could not be taken back because it was spent already; recorded in credit_shortfalls. */
  shortfall: number;
}

/** A guarded operation's usual hold; the guard's group commit and the one-by-one path send the same statement. */
const HOLD_SQL = 'SELECT credits_hold($1, $2, $3, $4, $5, $6, $7, $8, $9) AS result';
const CAPTURE_WHOLE_SQL = 'SELECT credits_capture_whole($1, $2, $3, $4::jsonb) AS result';

const statementNames = new Map<string, string>();

/** The name under which a connection keeps a ledger statement prepared: one per distinct text. */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `ledger_${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * The typed face of the ledger's database functions (one file each in migrations/functions/). Every credit movement
 * goes through here; callers pass the EntityManager of their transaction, or none for a single-statement call.
 */
@Injectable()
export class Ledger {
  constructor(private readonly dataSource: DataSource) {}

  private async call<T>(manager: EntityManager | undefined, sql: string, parameters: unknown[]): Promise<T> {
    if (manager) {
      const rows: Array<{ result: T }> = await manager.query(sql, parameters);
      return rows[0].result;
    }
    // A single statement outside a transaction goes straight to the driver's pool: this is every charge's path,
    // and a query runner per call costs more than the call itself. Each connection parses and plans the statement
    // once and then only binds and runs it.
    const { rows } = await this.pool.query<{ result: T }>({ name: statementName(sql), text: sql, values: parameters });
    return rows[0].result;
  }

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  /** credits_hold: one MESSAGE or INTEGRATION amount, held the usual way (see leanHoldLine). */
  private hold(
    manager: EntityManager | undefined,
    accountId: string,
    line: ChargeLine,
    now: Date,
    holdTtlSeconds: number,
    options: { key: string | null; hash: string | null; description: string | null },
  ): Promise<ChargeOutcome> {
    return this.call(manager, HOLD_SQL, [
      accountId,
      line.type,
      line.amount,
      line.walletRate,
      now,
      holdTtlSeconds,
      options.key,
      options.hash,
      options.description,
    ]);
  }

  charge(
    manager: EntityManager | undefined,
    request: {
      accountId: string;
      mode: 'HOLD' | 'CONSUME';
      lines: ChargeLine[];
      now: Date;
      holdTtlSeconds: number;
      idempotencyKey: string | null;
      requestHash: string | null;
      description: string | null;
    },
  ): Promise<ChargeOutcome> {
    const line = leanHoldLine(request);
    if (line) {
      // A guarded operation's usual hold, through the function made for it.
      return this.hold(manager, request.accountId, line, request.now, request.holdTtlSeconds, {
        key: request.idempotencyKey,
        hash: request.requestHash,
        description: request.description,
      });
    }
    return this.call(manager, 'SELECT credits_charge($1, $2, $3::jsonb, $4, $5, $6, $7, $8) AS result', [
      request.accountId,
      request.mode,
      JSON.stringify(request.lines),
      request.now,
      request.holdTtlSeconds,
      request.idempotencyKey,
      request.requestHash,
      request.description,
    ]);
  }

  /** Many MESSAGE / INTEGRATION consumptions in one transaction; one result per request, in order. */
  consumeBatch(requests: BatchedConsume[], now: Date): Promise<ChargeOutcome[]> {
    return this.call(
      undefined,
      'SELECT credits_consume_batch($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8) AS result',
      [
        requests.map((request) => request.account),
        requests.map((request) => request.type),
        requests.map((request) => request.amount),
        requests.map((request) => request.walletRate),
        requests.map((request) => request.key),
        requests.map((request) => request.hash),
        requests.map((request) => request.description),
        now,
      ],
    );
  }

  /**
   * Guarded requests' keyless holds and whole captures in one transaction; one answer per operation, in order,
   * each exactly what credits_hold or credits_capture_whole answers alone. A batch of one calls that function
   * directly.
   */
  async guardBatch(operations: GuardOperation[], now: Date, holdTtlSeconds: number): Promise<Array<ChargeOutcome | SettleOutcome>> {
    if (operations.length === 1) {
      const [operation] = operations;
      const outcome = operation.hold
        ? await this.captureWhole(undefined, operation.account, operation.hold, now, operation.result)
        : await this.hold(
            undefined,
            operation.account,
            { type: operation.type!, amount: operation.amount!, walletRate: operation.walletRate! },
            now,
            holdTtlSeconds,
            { key: null, hash: null, description: operation.description },
          );
      return [outcome];
    }
    return this.call(
      undefined,
      'SELECT credits_guard_batch($1::text[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::jsonb[], $8, $9) AS result',
      [
        operations.map((operation) => operation.account),
        operations.map((operation) => operation.hold),
        operations.map((operation) => operation.type),
        operations.map((operation) => operation.amount),
        operations.map((operation) => operation.walletRate),
        operations.map((operation) => operation.description),
        operations.map((operation) => operation.result),
        now,
        holdTtlSeconds,
      ],
    );
  }

  /** What a hold of the account reserved (none for a hold of another account). */
  async holdCharges(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
  ): Promise<Array<{ type: CreditType; amount: number }>> {
    const sql = 'SELECT charges FROM credit_holds WHERE id = $1 AND account_id = $2';
    const rows: Array<{ charges: Array<{ type: CreditType; amount: number }> }> = manager
      ? await manager.query(sql, [holdId, accountId])
      : (await this.pool.query(sql, [holdId, accountId])).rows;
    return rows[0]?.charges ?? [];
  }

  /** Settles a hold whole; `result` is the operation's serialised answer, kept for replays of its key. */
  captureWhole(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
    now: Date,
    result: string | null,
  ): Promise<SettleOutcome> {
    return this.call(manager, CAPTURE_WHOLE_SQL, [accountId, holdId, now, result]);
  }

  /** Settles a hold with reported actual amounts (whole captures go through guardBatch or captureWhole). */
  capture(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>>,
    now: Date,
    result?: unknown,
  ): Promise<SettleOutcome> {
    const serialisedResult = result === undefined ? null : JSON.stringify(result);
    return this.call(manager, 'SELECT credits_capture($1, $2, $3::jsonb, $4, $5::jsonb) AS result', [
      accountId,
      holdId,
      JSON.stringify(actuals),
      now,
      serialisedResult,
    ]);
  }

  release(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
    status: 'RELEASED' | 'EXPIRED',
    now: Date,
  ): Promise<SettleOutcome> {
    return this.call(manager, 'SELECT credits_release($1, $2, $3, $4) AS result', [accountId, holdId, status, now]);
  }

  releaseExpiredHolds(now: Date, limit: number): Promise<number> {
    return this.call(undefined, 'SELECT credits_release_expired_holds($1, $2) AS result', [now, limit]);
  }

  grant(manager: EntityManager | undefined, request: GrantRequest): Promise<GrantOutcome | GrantRefusal> {
    return this.call(
      manager,
      'SELECT credits_grant($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS result',
      [
        request.accountId,
        request.pool,
        request.kind,
        request.ledgerKind,
        request.amount,
        request.expiresAt,
        request.periodStart,
        request.sourceKey,
        request.description,
        request.reference,
        request.now,
      ],
    );
  }

  /**
   * Moves one pool's allowance of a period to `target` credits (a plan change mid-period), what was used so far
   * still counting; see credits_set_period_allowance.
   */
  async setPeriodAllowance(
    manager: EntityManager,
    request: {
      accountId: string;
      pool: Exclude<CreditPool, 'PROJECT' | 'WALLET'>;
      period: { start: Date; end: Date };
      target: number;
      sourceKey: string;
      description: string;
      now: Date;
    },
  ): Promise<void> {
    await manager.query('SELECT credits_set_period_allowance($1, $2, $3, $4, $5, $6, $7, $8)', [
      request.accountId,
      request.pool,
      request.period.start,
      request.period.end,
      request.target,
      request.sourceKey,
      request.description,
      request.now,
    ]);
  }

  /** Lets what is left of the allowance of periods before `periodStart` expire. */
  async expireAllowance(manager: EntityManager, accountId: string, periodStart: Date, now: Date): Promise<void> {
    await manager.query('SELECT credits_expire_allowance($1, $2, $3)', [accountId, periodStart, now]);
  }

  /**
   * Takes up to `max` credits back from the wallet, the purchase's own grant first, never below zero; what cannot be
   * taken is recorded as a shortfall.
   */
  async clawBack(
    manager: EntityManager,
    request: { accountId: string; grantId: string; max: number; reference: string | null; description: string; now: Date },
  ): Promise<ClawBackOutcome> {
    const outcome = await this.call<ClawBackOutcome>(
      manager,
      'SELECT credits_claw_back($1, $2, $3, $4, $5, $6) AS result',
      [request.accountId, request.grantId, request.max, request.reference, request.description, request.now],
    );
    return { taken: Number(outcome.taken), owed: Number(outcome.owed), shortfall: Number(outcome.shortfall) };
  }

  /** Keeps pending holds from expiring before `until` (their requests are still running). */
  extendHolds(holdIds: string[], until: Date): Promise<number> {
    return this.call(undefined, 'SELECT credits_extend_holds($1::uuid[], $2) AS result', [holdIds, until]);
  }

  /** Records credits owed that the ledger could not take (a capture whose hold was swept and cannot be paid again). */
  async recordShortfall(request: {
    accountId: string;
    pool: CreditPool;
    type: CreditType | null;
    amount: number;
    reason: 'CLAWBACK' | 'LATE_CAPTURE';
    reference: string | null;
    description: string | null;
    now: Date;
  }): Promise<void> {
    await this.pool.query(
      `INSERT INTO credit_shortfalls (account_id, pool, charge_type, amount, reason, reference, description, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [request.accountId, request.pool, request.type, request.amount, request.reason, request.reference, request.description, request.now],
    );
  }

  /** Gives quota units in use back (PROJECT). Returns the ledger row id. */
  returnUnits(
    manager: EntityManager | undefined,
    request: { accountId: string; type: CreditType; amount: number; reference: string; description: string; now: Date },
  ): Promise<number> {
    return this.call(manager, 'SELECT credits_return_units($1, $2, $3, $4, $5, $6) AS result', [
      request.accountId,
      request.type,
      request.amount,
      request.reference,
      request.description,
      request.now,
    ]).then(Number);
  }
}
