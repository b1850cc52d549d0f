import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { PlanCode } from '../plans/plan-code.enum';
import { CreditPool, CreditType, GrantKind, LedgerKind } from './credit-type.enum';
import { HoldStatus } from './entities/credit-hold.entity';
import { AppConfig } from '../config/app-config';
import { poolStatement } from '../database/pool-statement';
import { retryLedgerCall } from '../database/transaction';

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

/** What makes a charge idempotent, and what its rows say. */
export interface ChargeKeys {
  idempotencyKey: string | null;
  requestHash: string | null;
  description: string | null;
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

/**
 * The typed face of the ledger's database functions (one file each in migrations/functions/): one method per
 * function, which decides nothing. What to call when is CreditsService's; it is the only caller besides the
 * allowance movements of accounts. Callers pass the EntityManager of their transaction, or none for a statement of
 * its own.
 */
@Injectable()
export class LedgerFunctions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  private async call<T>(manager: EntityManager | undefined, sql: string, parameters: unknown[]): Promise<T> {
    if (manager) {
      const rows: Array<{ result: T }> = await manager.query(sql, parameters);
      return rows[0].result;
    }
    // A statement of its own goes straight to the driver's pool: this is every charge's path, and a query runner
    // per call costs more than the call itself. Each connection parses and plans the statement once and then only
    // binds and runs it, unless preparation is off (see poolStatement). Being one statement, it can be run again
    // when it lost a race (see retryLedgerCall).
    return retryLedgerCall(async () => {
      const { rows } = await this.pool.query<{ result: T }>(poolStatement(sql, parameters, this.config.preparedStatements));
      return rows[0].result;
    });
  }

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  /**
   * credits_hold: a hold of one MESSAGE or INTEGRATION amount, answered and written exactly as credits_charge would,
   * in fewer steps.
   */
  hold(
    manager: EntityManager | undefined,
    request: { accountId: string; line: ChargeLine; now: Date; holdTtlSeconds: number } & ChargeKeys,
  ): Promise<ChargeOutcome> {
    return this.call(manager, 'SELECT credits_hold($1, $2, $3, $4, $5, $6, $7, $8, $9) AS result', [
      request.accountId,
      request.line.type,
      request.line.amount,
      request.line.walletRate,
      request.now,
      request.holdTtlSeconds,
      request.idempotencyKey,
      request.requestHash,
      request.description,
    ]);
  }

  /** credits_charge: any charges, held (HOLD) or taken at once (CONSUME), all or none. */
  charge(
    manager: EntityManager | undefined,
    request: { accountId: string; mode: 'HOLD' | 'CONSUME'; lines: ChargeLine[]; now: Date; holdTtlSeconds: number } & ChargeKeys,
  ): Promise<ChargeOutcome> {
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

  /** Guarded requests' keyless holds and whole captures in one transaction; one answer per operation, in order. */
  guardBatch(operations: GuardOperation[], now: Date, holdTtlSeconds: number): Promise<Array<ChargeOutcome | SettleOutcome>> {
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

  /** credits_capture_whole: settles a hold whole; `result` is the operation's serialised answer, kept for replays of its key. */
  captureWhole(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
    now: Date,
    result: string | null,
  ): Promise<SettleOutcome> {
    return this.call(manager, 'SELECT credits_capture_whole($1, $2, $3, $4::jsonb) AS result', [accountId, holdId, now, result]);
  }

  /** credits_capture: settles a hold with the actual amounts reported (lower than reserved; the rest goes back). */
  capture(
    manager: EntityManager | undefined,
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>>,
    now: Date,
    result: string | null = null,
  ): Promise<SettleOutcome> {
    return this.call(manager, 'SELECT credits_capture($1, $2, $3::jsonb, $4, $5::jsonb) AS result', [
      accountId,
      holdId,
      JSON.stringify(actuals),
      now,
      result,
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
   * credits_grant for each request, in the order given (the caller's lock order), in one statement; the outcomes in
   * the same order.
   */
  async grants(manager: EntityManager, requests: GrantRequest[]): Promise<Array<GrantOutcome | GrantRefusal>> {
    if (requests.length === 0) return [];
    const column = <K extends keyof GrantRequest>(key: K) => requests.map((request) => request[key]);
    const rows: Array<{ result: GrantOutcome | GrantRefusal }> = await manager.query(
      `SELECT credits_grant(r.account_id, r.pool, r.kind, r.ledger_kind, r.amount, r.expires_at, r.period_start,
                            r.source_key, r.description, r.reference, r.now) AS result
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::timestamptz[],
                     $8::text[], $9::text[], $10::text[], $11::timestamptz[]) WITH ORDINALITY
              AS r(account_id, pool, kind, ledger_kind, amount, expires_at, period_start, source_key, description,
                   reference, now, position)
        ORDER BY r.position`,
      [
        column('accountId'),
        column('pool'),
        column('kind'),
        column('ledgerKind'),
        column('amount'),
        column('expiresAt'),
        column('periodStart'),
        column('sourceKey'),
        column('description'),
        column('reference'),
        column('now'),
      ],
    );
    return rows.map((row) => row.result);
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

  /**
   * credits_expire_allowance for each account starting a period, in the order given (the caller's lock order):
   * what is left of other periods' allowance expires. One statement for all of them.
   */
  async expireAllowances(manager: EntityManager, starts: Array<{ accountId: string; periodStart: Date }>, now: Date): Promise<void> {
    await manager.query(
      `SELECT count(credits_expire_allowance(s.account_id, s.period_start, $3))
         FROM unnest($1::text[], $2::timestamptz[]) AS s(account_id, period_start)`,
      [starts.map((start) => start.accountId), starts.map((start) => start.periodStart), now],
    );
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
