import fc from 'fast-check';
import { AccountsService } from '../src/accounts/accounts.service';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsException } from '../src/credits/credits.exception';
import { CreditsService } from '../src/credits/credits.service';
import { ChargeLineResult, ChargeOutcome, LedgerFunctions, SettleOutcome } from '../src/credits/ledger-functions';
import { nextPeriod, periodAt } from '../src/accounts/period-math';
import { inTransaction } from '../src/database/transaction';
import {
  CaptureAnswer,
  Charge,
  ChargeAnswer,
  CreditType as Type,
  LedgerModel,
  LedgerRules,
  Line,
  POOLS,
  Pool,
  Row,
  WALLET_PRIORITY,
} from './support/ledger-model';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The ledger checked against its model (test/support/ledger-model.ts). Random sequences of operations run on three
 * accounts side by side, each through other entry points, and after every step each account's balances, held
 * credits, grants, new ledger rows, shortfalls and answers must be the model's, the three accounts must agree, and
 * the whole ledger must reconcile.
 *
 * - SERVICE: CreditsService throughout: consumptions through the group commit (credits_consume_batch, several at
 *   once when a step sends several), holds through the guard batch (credits_hold), whole captures through
 *   credits_capture_whole, reported actuals through credits_capture.
 * - FUNCTIONS: the ledger's functions one by one: credits_charge for every charge and hold, a step's consumptions as
 *   one credits_consume_batch call, credits_capture for every capture, credits_release; an answer of RENEW is
 *   followed by AccountsService.renewIfDue and the call again, as the service does.
 * - HOLDS: like SERVICE, but a consumption is a hold and its whole capture, and a step's consumptions are holds
 *   sent together (one guard batch) then captured together.
 *
 * Where the ledger lets a lapsed grant stand until the next charge of its pool looks at it, the comparison allows
 * for it (see `check`): such a grant still holds exactly what it had when it lapsed, and is later expired whole.
 */

const SEED = 20310115;
const NUM_RUNS = 40;
const RATES: Record<Type, number> = { MESSAGE: 1, INTEGRATION: 3, PROJECT: 0 };
const START = new Date('2031-01-15T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

type Lower = 'whole' | 'half' | 'less-one' | 'zero' | 'over';
type Op =
  | { kind: 'consume'; charge: Charge }
  | { kind: 'consumeMany'; charges: Charge[] }
  | { kind: 'reserve'; charges: Charge[] }
  | { kind: 'capture'; hold: number; lower: Lower }
  | { kind: 'release'; hold: number }
  | { kind: 'grantWallet'; grantKind: 'PURCHASE' | 'PROMO' | 'ADMIN'; amount: number; expiresInMs: number | null }
  | { kind: 'grantAllowance'; type: 'MESSAGE' | 'INTEGRATION'; amount: number; expiresInMs: number | null }
  | { kind: 'refund'; purchase: number; max: number }
  | { kind: 'returnUnits'; amount: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'newPeriod'; afterMs: number }
  | { kind: 'sweep' }
  | { kind: 'renew' };

const spendable = (): fc.Arbitrary<Charge> =>
  fc.oneof(
    fc.record({ type: fc.constant<Type>('MESSAGE'), amount: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ type: fc.constant<Type>('MESSAGE'), amount: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ type: fc.constant<Type>('INTEGRATION'), amount: fc.integer({ min: 1, max: 60 }) }),
  );
const anyCharge = (): fc.Arbitrary<Charge> =>
  fc.oneof({ weight: 4, arbitrary: spendable() }, { weight: 1, arbitrary: fc.record({ type: fc.constant<Type>('PROJECT'), amount: fc.integer({ min: 1, max: 2 }) }) });
/** Charges of distinct types, in the order the service sends them (by type). */
const chargeSet = fc
  .uniqueArray(anyCharge(), { minLength: 1, maxLength: 3, selector: (charge) => charge.type })
  .map((charges) => [...charges].sort((a, b) => a.type.localeCompare(b.type)));

const operation: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('consume' as const), charge: anyCharge() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('consumeMany' as const), charges: fc.array(spendable(), { minLength: 2, maxLength: 5 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('reserve' as const), charges: chargeSet }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('capture' as const),
      hold: fc.nat(),
      lower: fc.constantFrom<Lower>('whole', 'whole', 'half', 'less-one', 'zero', 'over'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), hold: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('grantWallet' as const),
      grantKind: fc.constantFrom('PURCHASE' as const, 'PROMO' as const, 'ADMIN' as const),
      amount: fc.integer({ min: 1, max: 25 }),
      expiresInMs: fc.option(fc.integer({ min: 30 * MINUTE, max: 48 * HOUR }), { nil: null }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('grantAllowance' as const),
      type: fc.constantFrom('MESSAGE' as const, 'INTEGRATION' as const),
      amount: fc.integer({ min: 1, max: 20 }),
      /** null: with the period's own allowance, at the period's end. */
      expiresInMs: fc.option(fc.integer({ min: 10 * MINUTE, max: 72 * HOUR }), { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refund' as const), purchase: fc.nat(), max: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('returnUnits' as const), amount: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: MINUTE, max: 30 * HOUR }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('newPeriod' as const), afterMs: fc.integer({ min: 0, max: 2 * HOUR }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'renew' as const }) },
);

type LaneName = 'SERVICE' | 'FUNCTIONS' | 'HOLDS';

interface ConsumeAnswer {
  allowed: boolean;
  type: Type;
  fromAllowance: number;
  fromWallet: number;
  remaining: number | null;
  code: string | null;
}

interface Lane {
  name: LaneName;
  account: string;
  model: LedgerModel;
  /** Database hold id -> model label. */
  holdLabels: Map<string, string>;
  /** Holds made by `reserve` steps, in order: what `capture` and `release` steps pick from. */
  reserved: Array<{ id: string; label: string }>;
  /** Wallet grants by label: database id. */
  grantIds: Map<string, string>;
  /** How many of the model's rows the database has been compared with. */
  rowsSeen: number;
  lastRowId: number;
  /** Grants the database has expired whole once they lapsed. */
  expiredLapsed: Set<string>;
}

interface Snapshot {
  pools: Record<Pool, [number, number]>;
  grants: Array<{ label: string; remaining: number }>;
  rows: Array<{ id: number; kind: string; pool: Pool; chargeType: Type | null; grant: string | null; hold: string | null; amount: number; description: string | null }>;
  shortfalls: { CLAWBACK: number; LATE_CAPTURE: number };
}

const refusalCode = (type: Type) => (type === 'PROJECT' ? 'QUOTA_EXCEEDED' : 'INSUFFICIENT_CREDITS');
const rowKey = (row: Pick<Row, 'kind' | 'pool' | 'chargeType' | 'grant' | 'hold' | 'amount'>) =>
  [row.kind, row.pool, row.chargeType ?? '-', row.grant ?? '-', row.hold ?? '-', row.amount].join(' ');
/** EXPIRE rows of a grant that lapsed, written when the ledger next looks at its pool (or at renewal). */
const LAPSE_DESCRIPTIONS = new Set(['expired', 'allowance of the ended period expired']);

function fromLine(line: Line | ChargeLineResult): ConsumeAnswer {
  return {
    allowed: true,
    type: line.type as Type,
    fromAllowance: Number(line.fromAllowance),
    fromWallet: Number(line.fromWallet),
    remaining: line.remaining === null ? null : Number(line.remaining),
    code: null,
  };
}
function refused(type: Type, available: number): ConsumeAnswer {
  return { allowed: false, type, fromAllowance: 0, fromWallet: 0, remaining: Number(available), code: refusalCode(type) };
}
function modelConsume(answer: ChargeAnswer): ConsumeAnswer {
  return answer.status === 'OK' ? fromLine(answer.lines[0]) : refused(answer.creditType, answer.available);
}
const lines = (charges: ChargeLineResult[] | undefined): Line[] =>
  (charges ?? []).map((line) => ({ ...fromLine(line), amount: Number(line.amount) })).map(({ type, amount, fromAllowance, fromWallet, remaining }) => ({
    type,
    amount,
    fromAllowance,
    fromWallet,
    remaining,
  }));

describe('the ledger against its model (e2e, real PostgreSQL, property-based)', () => {
  let t: TestApp;
  let credits: CreditsService;
  let ledger: LedgerFunctions;
  let accounts: AccountsService;
  let rules: LedgerRules;
  let run = 0;

  beforeAll(async () => {
    t = await startTestApp({ WALLET_RATE_MESSAGE: String(RATES.MESSAGE), WALLET_RATE_INTEGRATION: String(RATES.INTEGRATION) });
    credits = t.app.get(CreditsService);
    ledger = t.app.get(LedgerFunctions);
    accounts = t.app.get(AccountsService);
    const [free] = await t.dataSource.query(
      `SELECT message_limit, integration_limit, project_limit FROM plans WHERE code = 'FREE'`,
    );
    rules = {
      rates: RATES,
      limits: { MESSAGE: free.message_limit, INTEGRATION: free.integration_limit, PROJECT: free.project_limit },
      holdTtlMs: t.config.HOLD_TTL_SECONDS * 1000,
      nextPeriod,
    };
  });
  afterAll(() => t.close());

  const renew = (lane: Lane) => inTransaction(t.dataSource, (manager) => accounts.renewIfDue(manager, lane.account, t.clock.now()));

  /** A ledger function called the way the service calls it: an ended period is renewed first, then asked again. */
  async function renewing<T extends { status: string }>(lane: Lane, call: () => Promise<T>): Promise<T> {
    const first = await call();
    if (first.status !== 'RENEW') return first;
    await renew(lane);
    return call();
  }

  const chargeLines = (charges: Charge[]) => charges.map((charge) => ({ ...charge, walletRate: RATES[charge.type] }));

  function chargeFunction(lane: Lane, mode: 'HOLD' | 'CONSUME', charges: Charge[]): Promise<ChargeOutcome> {
    // Straight to credits_charge, not the lean credits_hold that CreditsService picks for a single hold.
    return renewing(lane, async () => {
      const [row] = await t.dataSource.query('SELECT credits_charge($1, $2, $3::jsonb, $4, $5, NULL, NULL, NULL) AS r', [
        lane.account,
        mode,
        JSON.stringify(chargeLines(charges)),
        t.clock.now(),
        t.config.HOLD_TTL_SECONDS,
      ]);
      return row.r as ChargeOutcome;
    });
  }

  async function serviceConsume(lane: Lane, charge: Charge): Promise<ConsumeAnswer> {
    const outcome = await credits.consume(lane.account, charge as { type: CreditType; amount: number });
    if (!outcome.allowed) return { ...refused(charge.type, outcome.remaining ?? 0), code: outcome.refusal?.code ?? null };
    return { allowed: true, type: charge.type, fromAllowance: outcome.fromAllowance, fromWallet: outcome.fromWallet, remaining: outcome.remaining, code: null };
  }

  async function serviceReserve(lane: Lane, charges: Charge[]): Promise<{ id: string } | { code: string; available: number }> {
    try {
      const hold = await credits.hold(lane.account, charges as Array<{ type: CreditType; amount: number }>);
      return { id: hold.id };
    } catch (error) {
      if (!(error instanceof CreditsException)) throw error;
      return { code: error.code, available: Number(error.details.available) };
    }
  }

  async function serviceCapture(lane: Lane, holdId: string, actuals: Partial<Record<Type, number>>): Promise<CaptureAnswer> {
    try {
      return { status: 'OK', lines: lines(await credits.capture(lane.account, holdId, actuals as Partial<Record<CreditType, number>>)) };
    } catch (error) {
      if (!(error instanceof CreditsException)) throw error;
      if (error.code === 'HOLD_NOT_PENDING') return { status: 'NOT_PENDING' };
      if (error.code === 'INVALID_CHARGE') return { status: 'INVALID_ACTUAL' };
      throw error;
    }
  }

  async function capturedAnswer(lane: Lane, holdId: string): Promise<ConsumeAnswer> {
    const captured = await serviceCapture(lane, holdId, {});
    if (captured.status !== 'OK') throw new Error(`capture of a fresh hold answered ${captured.status}`);
    return fromLine(captured.lines[0]);
  }
  const remember = (lane: Lane, id: string, label: string) => lane.holdLabels.set(id, label);

  /** Runs one step on one lane; returns what the database answered and what the model answers. */
  async function perform(lane: Lane, op: Op): Promise<{ actual: unknown; expected: unknown }> {
    const { model } = lane;
    switch (op.kind) {
      case 'consume': {
        if (lane.name === 'SERVICE') return { actual: await serviceConsume(lane, op.charge), expected: modelConsume(model.charge('CONSUME', [op.charge])) };
        if (lane.name === 'FUNCTIONS') {
          const outcome = await chargeFunction(lane, 'CONSUME', [op.charge]);
          const actual = outcome.status === 'OK' ? fromLine(outcome.charges![0]) : outcome.status === 'REFUSED' ? refused(op.charge.type, outcome.available) : outcome;
          return { actual, expected: modelConsume(model.charge('CONSUME', [op.charge])) };
        }
        // A consumption as a hold and its whole capture.
        const modelHold = model.charge('HOLD', [op.charge]);
        const hold = await serviceReserve(lane, [op.charge]);
        if (!('id' in hold)) return { actual: { ...refused(op.charge.type, hold.available), code: hold.code }, expected: modelConsume(modelHold) };
        if (modelHold.status === 'OK') remember(lane, hold.id, modelHold.hold!);
        const actual = await capturedAnswer(lane, hold.id);
        return { actual, expected: modelHold.status === 'OK' ? fromLine((model.capture(modelHold.hold!) as { lines: Line[] }).lines[0]) : modelConsume(modelHold) };
      }
      case 'consumeMany': {
        // With the period over, the first charge goes alone and renews; the rest then race within one period.
        const due = t.clock.now() >= model.periodEnd;
        if (lane.name === 'SERVICE') {
          const first = due ? [await serviceConsume(lane, op.charges[0])] : [];
          const rest = await Promise.all(op.charges.slice(first.length).map((charge) => serviceConsume(lane, charge)));
          return { actual: [...first, ...rest], expected: op.charges.map((charge) => modelConsume(model.charge('CONSUME', [charge]))) };
        }
        if (lane.name === 'FUNCTIONS') {
          const batch = () =>
            ledger.consumeBatch(
              op.charges.map((charge) => ({ account: lane.account, ...chargeLines([charge])[0], type: charge.type as CreditType, key: null, hash: null, description: null })),
              t.clock.now(),
            );
          let outcomes = await batch();
          if (outcomes.some((outcome) => outcome.status === 'RENEW')) {
            await renew(lane);
            outcomes = await batch();
          }
          const actual = outcomes.map((outcome, i) =>
            outcome.status === 'OK' ? fromLine(outcome.charges![0]) : outcome.status === 'REFUSED' ? refused(op.charges[i].type, outcome.available) : outcome,
          );
          return { actual, expected: op.charges.map((charge) => modelConsume(model.charge('CONSUME', [charge]))) };
        }
        const first = due ? [await serviceReserve(lane, [op.charges[0]])] : [];
        const holds = [...first, ...(await Promise.all(op.charges.slice(first.length).map((charge) => serviceReserve(lane, [charge]))))];
        const captured = await Promise.all(holds.map((hold) => ('id' in hold ? capturedAnswer(lane, hold.id) : null)));
        const actual = holds.map((hold, i) => ('id' in hold ? captured[i] : { ...refused(op.charges[i].type, hold.available), code: hold.code }));
        const modelHolds = op.charges.map((charge) => model.charge('HOLD', [charge]));
        const expected = modelHolds.map((hold) =>
          hold.status === 'OK' ? fromLine((model.capture(hold.hold!) as { lines: Line[] }).lines[0]) : modelConsume(hold),
        );
        holds.forEach((hold, i) => {
          const modelHold = modelHolds[i];
          if ('id' in hold && modelHold.status === 'OK') remember(lane, hold.id, modelHold.hold!);
        });
        return { actual, expected };
      }
      case 'reserve': {
        const expected = model.charge('HOLD', op.charges);
        if (lane.name === 'FUNCTIONS') {
          const outcome = await chargeFunction(lane, 'HOLD', op.charges);
          if (outcome.status === 'OK' && expected.status === 'OK') {
            remember(lane, outcome.holdId!, expected.hold!);
            lane.reserved.push({ id: outcome.holdId!, label: expected.hold! });
          }
          const actual =
            outcome.status === 'OK'
              ? { status: 'OK', lines: lines(outcome.charges) }
              : outcome.status === 'REFUSED'
                ? { status: 'REFUSED', creditType: outcome.creditType, available: Number(outcome.available) }
                : outcome;
          return { actual, expected: expected.status === 'OK' ? { status: 'OK', lines: expected.lines } : expected };
        }
        const hold = await serviceReserve(lane, op.charges);
        if ('id' in hold && expected.status === 'OK') {
          remember(lane, hold.id, expected.hold!);
          lane.reserved.push({ id: hold.id, label: expected.hold! });
        }
        const refusedType = expected.status === 'REFUSED' ? expected.creditType : 'MESSAGE';
        return {
          actual: 'id' in hold ? { status: 'OK' } : { status: 'REFUSED', code: hold.code },
          expected: expected.status === 'OK' ? { status: 'OK' } : { status: 'REFUSED', code: refusalCode(refusedType) },
        };
      }
      case 'capture': {
        if (lane.reserved.length === 0) return { actual: null, expected: null };
        const { id, label } = lane.reserved[op.hold % lane.reserved.length];
        const hold = model.holds.find((h) => h.label === label)!;
        const actuals = actualsFor(hold.charges, op.lower);
        const expected = model.capture(label, actuals);
        if (lane.name !== 'FUNCTIONS') return { actual: await serviceCapture(lane, id, actuals), expected };
        // Every capture through credits_capture, with each actual amount spelled out.
        const spelled = Object.fromEntries(hold.charges.map(({ type, amount }) => [type, actuals[type] ?? amount]));
        const outcome: SettleOutcome = await ledger.capture(undefined, lane.account, id, spelled, t.clock.now());
        if (outcome.status === 'HOLD_EXPIRED' || outcome.status === 'HOLD_RELEASED') {
          return { actual: await serviceCapture(lane, id, actuals), expected };
        }
        const actual = outcome.status === 'OK' ? { status: 'OK', lines: lines(outcome.charges) } : { status: outcome.status };
        return { actual, expected };
      }
      case 'release': {
        if (lane.reserved.length === 0) return { actual: null, expected: null };
        const { id, label } = lane.reserved[op.hold % lane.reserved.length];
        model.release(label);
        if (lane.name === 'FUNCTIONS') {
          const outcome = await ledger.release(undefined, lane.account, id, 'RELEASED', t.clock.now());
          return { actual: outcome.status, expected: 'OK' };
        }
        await credits.release(lane.account, id);
        return { actual: 'OK', expected: 'OK' };
      }
      case 'grantWallet': {
        const label = `w${model.grants.length + 1}`;
        const expiresAt = op.expiresInMs === null ? null : new Date(t.clock.now().getTime() + op.expiresInMs);
        const request = { accountId: lane.account, amount: op.amount, kind: op.grantKind, sourceKey: `${lane.account}:${label}`, expiresAt };
        const outcome =
          lane.name === 'FUNCTIONS'
            ? await ledger.grant(undefined, {
                ...request,
                pool: 'WALLET',
                ledgerKind: op.grantKind === 'PURCHASE' ? 'PURCHASE' : op.grantKind === 'ADMIN' ? 'ADJUST' : 'GRANT',
                periodStart: null,
                description: null,
                reference: null,
                now: t.clock.now(),
              })
            : await credits.grant(request);
        if (!outcome.refused) lane.grantIds.set(label, outcome.grantId);
        model.grant({ label, pool: 'WALLET', kind: op.grantKind, amount: op.amount, priority: WALLET_PRIORITY[op.grantKind], expiresAt });
        return { actual: outcome.refused ? 'REFUSED' : outcome.created, expected: true };
      }
      case 'grantAllowance': {
        const label = `a${model.grants.length + 1}`;
        const expiresAt = op.expiresInMs === null ? model.periodEnd : new Date(t.clock.now().getTime() + op.expiresInMs);
        const outcome = await ledger.grant(undefined, {
          accountId: lane.account,
          pool: op.type as CreditType.MESSAGE | CreditType.INTEGRATION,
          kind: 'ALLOWANCE',
          ledgerKind: 'GRANT',
          amount: op.amount,
          expiresAt,
          periodStart: null,
          sourceKey: `${lane.account}:${label}`,
          description: 'bonus allowance',
          reference: null,
          now: t.clock.now(),
        });
        model.grant({ label, pool: op.type, kind: 'ALLOWANCE', amount: op.amount, priority: 0, expiresAt });
        return { actual: outcome.refused ? 'REFUSED' : outcome.created, expected: true };
      }
      case 'refund': {
        const purchases = model.grants.filter((grant) => grant.kind === 'PURCHASE');
        if (purchases.length === 0) return { actual: null, expected: null };
        const { label } = purchases[op.purchase % purchases.length];
        const request = { accountId: lane.account, grantId: lane.grantIds.get(label)!, max: op.max, reference: `refund:${label}`, description: 'refund' };
        const actual = await t.dataSource.transaction((manager) =>
          lane.name === 'FUNCTIONS' ? ledger.clawBack(manager, { ...request, now: t.clock.now() }) : credits.clawBack(manager, request),
        );
        return { actual, expected: model.clawBack(label, op.max) };
      }
      case 'returnUnits': {
        const request = { accountId: lane.account, type: CreditType.PROJECT, amount: op.amount, reference: 'project', description: 'project deleted', now: t.clock.now() };
        const actual = await t.dataSource
          .transaction((manager) =>
            lane.name === 'FUNCTIONS'
              ? ledger.returnUnits(manager, request)
              : credits.returnUnits(manager, lane.account, CreditType.PROJECT, op.amount, request.reference, request.description),
          )
          .then(
            () => true,
            () => false,
          );
        return { actual, expected: model.returnUnits(op.amount) };
      }
      case 'renew':
        return { actual: await renew(lane), expected: model.renewIfDue() };
      case 'advance':
      case 'newPeriod':
      case 'sweep':
        return { actual: null, expected: null };
    }
  }

  function actualsFor(charges: Charge[], lower: Lower): Partial<Record<Type, number>> {
    if (lower === 'whole') return {};
    const actuals: Partial<Record<Type, number>> = {};
    charges.forEach(({ type, amount }, i) => {
      if (lower === 'half') actuals[type] = Math.floor(amount / 2);
      if (lower === 'less-one') actuals[type] = amount - 1;
      if (lower === 'zero') actuals[type] = 0;
      if (lower === 'over' && i === 0) actuals[type] = amount + 1;
    });
    return actuals;
  }

  async function snapshot(lane: Lane): Promise<Snapshot> {
    const [row] = await t.dataSource.query(
      `SELECT (SELECT json_object_agg(pool, json_build_array(balance, held)) FROM credit_balances WHERE account_id = $1) AS pools,
              (SELECT coalesce(json_agg(json_build_object('key', source_key, 'remaining', remaining)), '[]')
                 FROM credit_grants WHERE account_id = $1) AS grants,
              (SELECT coalesce(json_agg(json_build_object('id', t.id, 'kind', t.kind, 'pool', t.pool, 'chargeType', t.charge_type,
                        'grant', g.source_key, 'hold', t.hold_id, 'amount', t.amount, 'description', t.description) ORDER BY t.id), '[]')
                 FROM credit_transactions t LEFT JOIN credit_grants g ON g.id = t.grant_id
                WHERE t.account_id = $1 AND t.id > $2) AS rows,
              (SELECT json_build_object('CLAWBACK', coalesce(sum(amount) FILTER (WHERE reason = 'CLAWBACK'), 0),
                                        'LATE_CAPTURE', coalesce(sum(amount) FILTER (WHERE reason = 'LATE_CAPTURE'), 0))
                 FROM credit_shortfalls WHERE account_id = $1) AS shortfalls`,
      [lane.account, lane.lastRowId],
    );
    const label = (key: string | null) => {
      if (key === null) return null;
      const allowance = `allowance:${lane.account}:`;
      return key.startsWith(allowance) ? key.slice(allowance.length) : key.slice(lane.account.length + 1);
    };
    return {
      pools: row.pools,
      grants: row.grants.map((grant: { key: string; remaining: number }) => ({ label: label(grant.key)!, remaining: grant.remaining })),
      rows: row.rows.map((r: Snapshot['rows'][number]) => ({
        ...r,
        grant: label(r.grant),
        hold: r.hold === null ? null : (lane.holdLabels.get(r.hold) ?? `unknown hold ${r.hold}`),
      })),
      shortfalls: row.shortfalls,
    };
  }

  /**
   * The database state of a lane against its model. A grant past its expiry pays nothing in the model; in the
   * database it may still show what it had left until a charge of its pool (or the renewal) expires it, so such
   * credits are counted apart: the grant holds all it had when it lapsed or nothing, and its EXPIRE row takes all.
   * Returns the credits still shown by lapsed grants, per pool.
   */
  function check(lane: Lane, state: Snapshot, where: string): Record<Pool, number> {
    const { model } = lane;
    const lapsedShown: Record<Pool, number> = { INTEGRATION: 0, MESSAGE: 0, PROJECT: 0, WALLET: 0 };
    expect({ where, grants: state.grants.map((g) => g.label).sort() }).toEqual({ where, grants: model.grants.map((g) => g.label).sort() });
    for (const { label, remaining } of state.grants) {
      const grant = model.grants.find((g) => g.label === label)!;
      if (grant.lapsed === null) {
        expect({ where, grant: label, remaining }).toEqual({ where, grant: label, remaining: grant.remaining });
      } else {
        expect({ where, grant: label, remaining: [0, grant.lapsed].includes(remaining) }).toEqual({ where, grant: label, remaining: true });
        lapsedShown[grant.pool] += remaining;
      }
    }
    for (const pool of POOLS) {
      const [balance, held] = state.pools[pool];
      expect({ where, pool, balance, held }).toEqual({ where, pool, balance: model.balance(pool) + lapsedShown[pool], held: model.held(pool) });
    }
    const lapses = state.rows.filter((row) => row.kind === 'EXPIRE' && LAPSE_DESCRIPTIONS.has(row.description ?? ''));
    for (const row of lapses) {
      const grant = model.grants.find((g) => g.label === row.grant);
      expect({ where, lapse: row.grant, amount: row.amount, once: !lane.expiredLapsed.has(row.grant!) }).toEqual({
        where,
        lapse: row.grant,
        amount: -(grant?.lapsed ?? NaN),
        once: true,
      });
      lane.expiredLapsed.add(row.grant!);
    }
    const written = state.rows.filter((row) => !lapses.includes(row)).map(rowKey).sort();
    expect({ where, rows: written }).toEqual({ where, rows: model.rows.slice(lane.rowsSeen).map(rowKey).sort() });
    lane.rowsSeen = model.rows.length;
    lane.lastRowId = state.rows.at(-1)?.id ?? lane.lastRowId;
    expect({ where, shortfalls: state.shortfalls }).toEqual({ where, shortfalls: model.shortfalls });
    return lapsedShown;
  }

  /**
   * Answers must be the model's. A "remaining" may also count credits of lapsed grants the database still shows
   * (credits_remaining reads the cached balances as they are), and nothing else.
   */
  function expectAnswer(lane: Lane, actual: unknown, expected: unknown, lapsedShown: Record<Pool, number>, where: string): void {
    const tolerate = (value: unknown, model: unknown): unknown => {
      if (Array.isArray(value) && Array.isArray(model)) return value.map((item, i) => tolerate(item, model[i]));
      if (!value || typeof value !== 'object' || !model || typeof model !== 'object') return value;
      const line = value as { type?: Type; remaining?: number | null; available?: number };
      const wanted = model as typeof line;
      const type = line.type ?? (line as { creditType?: Type }).creditType;
      const shown = type ? lane.model.remaining(type, lapsedShown) : undefined;
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const counted = (key === 'remaining' || key === 'available') && item === shown && item !== (wanted as Record<string, unknown>)[key];
        out[key] = counted ? (wanted as Record<string, unknown>)[key] : tolerate(item, (wanted as Record<string, unknown>)[key]);
      }
      return out;
    };
    expect({ where, answer: tolerate(actual, expected) }).toEqual({ where, answer: expected });
  }

  const effective = (state: Snapshot, lapsedShown: Record<Pool, number>, lane: Lane) => ({
    pools: POOLS.map((pool) => [pool, state.pools[pool][0] - lapsedShown[pool], state.pools[pool][1]]),
    grants: state.grants
      .map(({ label, remaining }) => [label, lane.model.grants.find((g) => g.label === label)!.lapsed === null ? remaining : 0])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  });

  async function runSequence(ops: Op[]): Promise<void> {
    run++;
    t.clock.set(START);
    const lanes: Lane[] = [];
    for (const name of ['SERVICE', 'FUNCTIONS', 'HOLDS'] as const) {
      const account = `oracle-${run}-${name.toLowerCase()}`;
      await accounts.ensure(account);
      const model = new LedgerModel(rules, START, periodAt(START, START).end);
      lanes.push({ name, account, model, holdLabels: new Map(), reserved: [], grantIds: new Map(), rowsSeen: 0, lastRowId: 0, expiredLapsed: new Set() });
    }
    try {
      for (const lane of lanes) check(lane, await snapshot(lane), `${lane.name} at the start`);
      for (const [index, op] of ops.entries()) {
        // Every step happens a little later than the one before, so no two grants share a created_at.
        t.clock.advance(1);
        if (op.kind === 'advance') t.clock.advance(op.ms);
        if (op.kind === 'newPeriod') t.clock.set(new Date(lanes[0].model.periodEnd.getTime() + op.afterMs));
        for (const lane of lanes) lane.model.at(t.clock.now());
        let sweepCount: { actual: number; expected: number } | null = null;
        if (op.kind === 'sweep') {
          sweepCount = { actual: await credits.expireHolds(), expected: lanes.reduce((sum, lane) => sum + lane.model.sweep(), 0) };
        }
        const views = [];
        for (const lane of lanes) {
          const where = `step ${index + 1} ${JSON.stringify(op)} on ${lane.name}`;
          const { actual, expected } = await perform(lane, op);
          const state = await snapshot(lane);
          const lapsedShown = check(lane, state, where);
          expectAnswer(lane, actual, expected, lapsedShown, where);
          views.push(effective(state, lapsedShown, lane));
        }
        if (sweepCount) expect({ step: index + 1, swept: sweepCount.actual }).toEqual({ step: index + 1, swept: sweepCount.expected });
        // The twins agree with each other, whichever entry points they took.
        for (const view of views.slice(1)) expect({ step: index + 1, view }).toEqual({ step: index + 1, view: views[0] });
        await t.expectLedgerReconciles();
      }
    } finally {
      // Nothing of this sequence may be left for the next one's sweeper.
      await credits.expireHolds(10_000, new Date('2100-01-01T00:00:00Z'));
    }
  }

  // A refund takes nothing from wallet credits that have lapsed but that no charge has expired yet: here the
  // purchase's 10 credits were all spent and the only other wallet credits are a promotion that lapsed an hour ago,
  // so the refund takes nothing and records a shortfall of 10.
  it('takes a refund back only from wallet credits that can still be spent', async () => {
    await runSequence([
      { kind: 'grantWallet', grantKind: 'PURCHASE', amount: 10, expiresInMs: null },
      { kind: 'consume', charge: { type: 'MESSAGE', amount: 20 } },
      { kind: 'grantWallet', grantKind: 'PROMO', amount: 5, expiresInMs: HOUR },
      { kind: 'advance', ms: 2 * HOUR },
      { kind: 'refund', purchase: 0, max: 10 },
    ]);
  });

  // Refunded credits a pending request holds are owed: taken when the hold gives them back, or, when it spends them,
  // from the next wallet credits.
  it('takes refunded credits that were held when they come back, or from the next credits bought', async () => {
    await runSequence([
      { kind: 'grantWallet', grantKind: 'PURCHASE', amount: 10, expiresInMs: null },
      { kind: 'consume', charge: { type: 'MESSAGE', amount: 10 } },
      { kind: 'reserve', charges: [{ type: 'MESSAGE', amount: 6 }] },
      { kind: 'reserve', charges: [{ type: 'MESSAGE', amount: 4 }] },
      { kind: 'refund', purchase: 0, max: 10 },
      { kind: 'release', hold: 0 },
      { kind: 'capture', hold: 0, lower: 'whole' },
      { kind: 'grantWallet', grantKind: 'PURCHASE', amount: 10, expiresInMs: null },
      { kind: 'consume', charge: { type: 'MESSAGE', amount: 6 } },
    ]);
  });

  it('keeps balances, grants, ledger rows and answers equal to the model, on every entry point', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25, size: 'max' }), (ops) => runSequence(ops)),
      { seed: SEED, numRuns: NUM_RUNS, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true },
    );
  }, 200_000);
});
