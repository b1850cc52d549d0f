/**
 * A reference model of one account's credit ledger: the rules of README "How credits work" and SPEC "Domain",
 * written as plain TypeScript over plain arrays, with no concern for speed or locking. The e2e properties in
 * test/ledger-model.e2e-spec.ts run the same operations through the database functions and compare.
 *
 * - Credits sit in grants. A grant lapses at its expiry: from then on it pays nothing, and what it had left is
 *   recorded as lapsed (the ledger writes that EXPIRE row whenever it next looks at the pool).
 * - A MESSAGE or INTEGRATION charge takes the type's allowance first (grants by expiry, then priority, created_at),
 *   then the wallet (priority desc, expiry, created_at) at `rates[type]` wallet credits per unit. PROJECT is a
 *   quota of `limits.PROJECT` units held or in use; the wallet never pays for it.
 * - Several charges are paid all or none; a refusal changes nothing.
 * - A hold takes the credits now. Capture may lower a charge: wallet-paid units go back first (at their rate),
 *   then allowance units, newest allocation first. Release, and the sweeper once a hold's time ran out, give all
 *   back. Credits given back to a grant that has lapsed lapse with it at once.
 * - Capturing a hold the sweeper gave back charges it afresh, once, where it can still be paid; what cannot is a
 *   shortfall.
 * - A period that has ended is renewed by the next charge (or the renewal job): its allowance lapsed at its end,
 *   the new period's is granted.
 * - A refund takes up to its credits back from the wallet: the purchase's grant first, then the others in
 *   spending order, never below zero; what pending holds have of the wallet is owed and taken when it comes back
 *   (or from the next wallet grant); the rest is a shortfall.
 */

export type CreditType = 'MESSAGE' | 'INTEGRATION' | 'PROJECT';
export type Pool = CreditType | 'WALLET';
export type GrantKind = 'ALLOWANCE' | 'PURCHASE' | 'PROMO' | 'ADMIN';
export const POOLS: readonly Pool[] = ['INTEGRATION', 'MESSAGE', 'PROJECT', 'WALLET'];

export interface Period {
  start: Date;
  end: Date;
}

export interface ModelGrant {
  label: string;
  pool: Exclude<Pool, 'PROJECT'>;
  kind: GrantKind;
  amount: number;
  /** What it can still pay: 0 once it has lapsed. */
  remaining: number;
  priority: number;
  expiresAt: number | null;
  createdAt: number;
  /** What it had left when it lapsed; null while it has not. */
  lapsed: number | null;
}

export interface Allocation {
  pool: Pool;
  type: CreditType;
  grant: string | null;
  amount: number;
}

export interface Charge {
  type: CreditType;
  amount: number;
}

export interface ModelHold {
  label: string;
  charges: Charge[];
  allocations: Allocation[];
  status: 'PENDING' | 'CAPTURED' | 'RELEASED' | 'EXPIRED';
  expiresAt: number;
  /** Lines charged afresh after the sweeper gave the hold back, by type. */
  late: Map<CreditType, Line>;
}

/** One ledger row, as the ledger writes it (running balances left to reconciliation). */
export interface Row {
  kind: string;
  pool: Pool;
  chargeType: CreditType | null;
  grant: string | null;
  hold: string | null;
  amount: number;
}

export interface Line {
  type: CreditType;
  amount: number;
  fromAllowance: number;
  fromWallet: number;
  remaining: number | null;
}

export type ChargeAnswer =
  | { status: 'OK'; hold: string | null; lines: Line[] }
  | { status: 'REFUSED'; creditType: CreditType; available: number };

export type CaptureAnswer =
  | { status: 'OK'; lines: Line[] }
  | { status: 'NOT_PENDING' | 'INVALID_ACTUAL' };

export interface LedgerRules {
  /** Wallet credits per unit; 0 where the wallet does not pay. */
  rates: Record<CreditType, number>;
  /** The plan's allowance per period (MESSAGE, INTEGRATION) and quota (PROJECT; null: unlimited). */
  limits: { MESSAGE: number; INTEGRATION: number; PROJECT: number | null };
  holdTtlMs: number;
  /** The period that follows one ending at `previousEnd`, seen at `now`. */
  nextPeriod(anchor: Date, previousEnd: Date, now: Date): Period;
}

const ALLOWANCE_TYPES = ['MESSAGE', 'INTEGRATION'] as const;
export const WALLET_PRIORITY: Record<Exclude<GrantKind, 'ALLOWANCE'>, number> = { PURCHASE: 10, PROMO: 20, ADMIN: 20 };
const GRANT_ROW_KIND: Record<GrantKind, string> = { ALLOWANCE: 'GRANT', PURCHASE: 'PURCHASE', PROMO: 'GRANT', ADMIN: 'ADJUST' };

const byNumber = (a: number, b: number) => a - b;
const expiry = (grant: ModelGrant) => grant.expiresAt ?? Number.POSITIVE_INFINITY;

/** Allowance: soonest expiry, then higher priority, then oldest. */
function allowanceOrder(a: ModelGrant, b: ModelGrant): number {
  return byNumber(expiry(a), expiry(b)) || byNumber(b.priority, a.priority) || byNumber(a.createdAt, b.createdAt);
}

/** Wallet: higher priority (promotional before purchased), then soonest expiry, then oldest. */
function walletOrder(a: ModelGrant, b: ModelGrant): number {
  return byNumber(b.priority, a.priority) || byNumber(expiry(a), expiry(b)) || byNumber(a.createdAt, b.createdAt);
}

export class LedgerModel {
  readonly grants: ModelGrant[] = [];
  readonly holds: ModelHold[] = [];
  readonly rows: Row[] = [];
  readonly shortfalls = { CLAWBACK: 0, LATE_CAPTURE: 0 };
  /** Refunded wallet credits that were held when the refund came: taken when they come back, or from new ones. */
  owedByWallet = 0;
  private projectsInUse = 0;
  private now: number;
  private period: Period;
  private readonly anchor: Date;

  /** A new account at `created`: the first period starts then, with its allowance. */
  constructor(
    private readonly rules: LedgerRules,
    created: Date,
    firstPeriodEnd: Date,
  ) {
    this.now = created.getTime();
    this.anchor = created;
    this.period = { start: created, end: firstPeriodEnd };
    this.grantAllowance();
  }

  get periodEnd(): Date {
    return this.period.end;
  }

  /** Time moves on: grants whose expiry has come lapse. */
  at(now: Date): this {
    this.now = now.getTime();
    for (const grant of this.grants) {
      if (grant.lapsed === null && grant.expiresAt !== null && grant.expiresAt <= this.now) {
        grant.lapsed = grant.remaining;
        grant.remaining = 0;
      }
    }
    return this;
  }

  balance(pool: Pool): number {
    if (pool === 'PROJECT') return this.projectsInUse;
    return this.grants.filter((grant) => grant.pool === pool).reduce((sum, grant) => sum + grant.remaining, 0);
  }

  held(pool: Pool): number {
    return this.holds
      .filter((hold) => hold.status === 'PENDING')
      .flatMap((hold) => hold.allocations)
      .filter((allocation) => allocation.pool === pool)
      .reduce((sum, allocation) => sum + allocation.amount, 0);
  }

  /** What is left to pay for a type; `extra` adds credits per pool (see the spec's note on lapsed grants). */
  remaining(type: CreditType, extra: Partial<Record<Pool, number>> = {}): number | null {
    if (type === 'PROJECT') {
      const limit = this.rules.limits.PROJECT;
      return limit === null ? null : Math.max(limit - this.projectsInUse - this.held('PROJECT'), 0);
    }
    const rate = this.rules.rates[type];
    const wallet = this.balance('WALLET') + (extra.WALLET ?? 0);
    return this.balance(type) + (extra[type] ?? 0) + (rate > 0 ? Math.floor(wallet / rate) : 0);
  }

  grant(request: { label: string; pool: Exclude<Pool, 'PROJECT'>; kind: GrantKind; amount: number; priority: number; expiresAt: Date | null }): void {
    const grant: ModelGrant = {
      ...request,
      expiresAt: request.expiresAt?.getTime() ?? null,
      remaining: 0,
      createdAt: this.now,
      lapsed: null,
    };
    this.grants.push(grant);
    this.post(GRANT_ROW_KIND[request.kind], request.pool, null, grant, null, request.amount);
    this.at(new Date(this.now));
    if (request.pool === 'WALLET') this.collectOwed();
  }

  /** The renewal: once the period has ended, the next one starts with its allowance. */
  renewIfDue(): boolean {
    if (this.now < this.period.end.getTime()) return false;
    this.period = this.rules.nextPeriod(this.anchor, this.period.end, new Date(this.now));
    this.grantAllowance();
    return true;
  }

  /** Reserves (HOLD) or spends (CONSUME) all charges or none. */
  charge(mode: 'HOLD' | 'CONSUME', charges: Charge[], rowKind: string = mode): ChargeAnswer {
    this.renewIfDue();
    let walletLeft = this.balance('WALLET');
    for (const { type, amount } of charges) {
      if (type === 'PROJECT') {
        const available = this.remaining('PROJECT');
        if (available !== null && amount > available) return { status: 'REFUSED', creditType: type, available };
        continue;
      }
      const rate = this.rules.rates[type];
      const units = Math.max(amount - this.balance(type), 0);
      if (units > 0 && (rate === 0 || units * rate > walletLeft)) {
        const available = this.balance(type) + (rate > 0 ? Math.floor(walletLeft / rate) : 0);
        return { status: 'REFUSED', creditType: type, available };
      }
      walletLeft -= units * rate;
    }

    const hold: ModelHold | null =
      mode === 'HOLD'
        ? { label: `h${this.holds.length + 1}`, charges, allocations: [], status: 'PENDING', expiresAt: this.now + this.rules.holdTtlMs, late: new Map() }
        : null;
    if (hold) this.holds.push(hold);
    const lines: Line[] = [];
    for (const { type, amount } of charges) {
      const taken: Allocation[] = [];
      if (type === 'PROJECT') {
        taken.push({ pool: 'PROJECT', type, grant: null, amount });
        this.post(rowKind, 'PROJECT', type, null, hold, -amount);
        if (!hold) this.projectsInUse += amount;
      } else {
        const fromAllowance = Math.min(amount, this.balance(type));
        taken.push(...this.take(type, type, fromAllowance, allowanceOrder, hold, rowKind));
        taken.push(...this.take('WALLET', type, (amount - fromAllowance) * this.rules.rates[type], walletOrder, hold, rowKind));
      }
      hold?.allocations.push(...taken);
      lines.push(this.line(type, amount, taken));
    }
    return { status: 'OK', hold: hold?.label ?? null, lines };
  }

  /** Settles a hold; `actuals` may lower a charge. */
  capture(label: string, actuals: Partial<Record<CreditType, number>> = {}): CaptureAnswer {
    const hold = this.hold(label);
    if (hold.status === 'CAPTURED') return { status: 'OK', lines: [] };
    // A capture says the work was done: a hold given back meanwhile is charged afresh.
    if (hold.status === 'RELEASED' || hold.status === 'EXPIRED') return this.captureLate(hold, actuals);
    if (hold.charges.some(({ type, amount }) => (actuals[type] ?? amount) > amount)) return { status: 'INVALID_ACTUAL' };
    const lines: Line[] = [];
    for (const { type, amount } of hold.charges) {
      const rate = type === 'PROJECT' ? 0 : this.rules.rates[type];
      const own = hold.allocations.filter((allocation) => allocation.type === type);
      let giveBack = amount - (actuals[type] ?? amount);
      const walletPaid = own.filter((allocation) => allocation.pool === 'WALLET').reduce((sum, a) => sum + a.amount, 0);
      const walletUnits = Math.min(giveBack, rate > 0 ? Math.floor(walletPaid / rate) : 0);
      let walletBack = walletUnits * rate;
      giveBack -= walletUnits;
      const kept: Allocation[] = [];
      const newestFirst = [...own].reverse();
      for (const allocation of [...newestFirst.filter((a) => a.pool === 'WALLET'), ...newestFirst.filter((a) => a.pool !== 'WALLET')]) {
        const back = Math.min(allocation.amount, allocation.pool === 'WALLET' ? walletBack : giveBack);
        if (allocation.pool === 'WALLET') walletBack -= back;
        else giveBack -= back;
        this.giveBack(allocation, back, hold);
        kept.push({ ...allocation, amount: allocation.amount - back });
        if (allocation.pool === 'PROJECT') this.projectsInUse += allocation.amount - back;
      }
      // Capture is settled per charge, in order, so each line's "remaining" sees the charges before it settled.
      hold.allocations = hold.allocations.filter((allocation) => allocation.type !== type);
      lines.push(this.line(type, actuals[type] ?? amount, kept));
    }
    hold.allocations = [];
    hold.status = 'CAPTURED';
    return { status: 'OK', lines };
  }

  /** Gives a pending hold back whole (RELEASED by its caller, EXPIRED by the sweeper); otherwise nothing changes. */
  release(label: string, status: 'RELEASED' | 'EXPIRED' = 'RELEASED'): void {
    const hold = this.hold(label);
    if (hold.status !== 'PENDING') return;
    for (const allocation of hold.allocations) this.giveBack(allocation, allocation.amount, hold);
    hold.allocations = [];
    hold.status = status;
  }

  /** The sweeper: pending holds whose time ran out go back. Returns how many. */
  sweep(): number {
    const due = this.holds.filter((hold) => hold.status === 'PENDING' && hold.expiresAt <= this.now);
    for (const hold of due) this.release(hold.label, 'EXPIRED');
    return due.length;
  }

  /**
   * A refund: up to `max` credits back from the wallet, the purchase's grant first, never below zero. What pending
   * holds have of the wallet is owed, taken when it comes back; only the rest is a shortfall.
   */
  clawBack(label: string, max: number): { taken: number; owed: number; shortfall: number } {
    const own = this.grants.find((grant) => grant.label === label);
    const others = this.grants.filter((grant) => grant.pool === 'WALLET' && grant !== own).sort(walletOrder);
    let need = max;
    for (const grant of [...(own ? [own] : []), ...others]) {
      const take = Math.min(need, grant.remaining);
      if (take === 0) continue;
      this.post('CLAWBACK', 'WALLET', null, grant, null, -take);
      need -= take;
    }
    const owed = Math.min(need, Math.max(this.held('WALLET') - this.owedByWallet, 0));
    this.owedByWallet += owed;
    this.shortfalls.CLAWBACK += need - owed;
    return { taken: max - need, owed, shortfall: need - owed };
  }

  /** What the wallet owes, taken out of what it has, in spending order. */
  private collectOwed(): void {
    for (const grant of this.grants.filter((g) => g.pool === 'WALLET' && g.remaining > 0).sort(walletOrder)) {
      if (this.owedByWallet === 0) return;
      const take = Math.min(this.owedByWallet, grant.remaining);
      this.post('CLAWBACK', 'WALLET', null, grant, null, -take);
      this.owedByWallet -= take;
    }
  }

  /** Quota units in use given back (a deleted project); more than are in use is refused. */
  returnUnits(amount: number): boolean {
    if (this.projectsInUse < amount) return false;
    this.projectsInUse -= amount;
    this.post('REFUND', 'PROJECT', 'PROJECT', null, null, amount);
    return true;
  }

  private grantAllowance(): void {
    for (const type of ALLOWANCE_TYPES) {
      const amount = this.rules.limits[type];
      if (amount <= 0) continue;
      const label = `${type}:${this.period.start.toISOString()}`;
      this.grant({ label, pool: type, kind: 'ALLOWANCE', amount, priority: 0, expiresAt: this.period.end });
    }
  }

  /** Each line charged afresh, once; a line that cannot be paid is a shortfall. */
  private captureLate(hold: ModelHold, actuals: Partial<Record<CreditType, number>>): CaptureAnswer {
    const lines: Line[] = [];
    for (const { type, amount } of hold.charges) {
      const due = Math.min(actuals[type] ?? amount, amount);
      if (due === 0) continue;
      const earlier = hold.late.get(type);
      if (earlier) {
        lines.push(earlier);
        continue;
      }
      const answer = this.charge('CONSUME', [{ type, amount: due }]);
      if (answer.status === 'OK') {
        hold.late.set(type, answer.lines[0]);
        lines.push(answer.lines[0]);
      } else {
        this.shortfalls.LATE_CAPTURE += due;
      }
    }
    return { status: 'OK', lines };
  }

  private take(
    pool: Exclude<Pool, 'PROJECT'>,
    type: CreditType,
    amount: number,
    order: (a: ModelGrant, b: ModelGrant) => number,
    hold: ModelHold | null,
    rowKind: string,
  ): Allocation[] {
    const taken: Allocation[] = [];
    let need = amount;
    for (const grant of this.grants.filter((g) => g.pool === pool && g.remaining > 0).sort(order)) {
      if (need === 0) break;
      const take = Math.min(need, grant.remaining);
      this.post(rowKind, pool, type, grant, hold, -take);
      taken.push({ pool, type, grant: grant.label, amount: take });
      need -= take;
    }
    if (need > 0) throw new Error(`model: ${pool} cannot pay ${amount}`);
    return taken;
  }

  private giveBack(allocation: Allocation, units: number, hold: ModelHold): void {
    if (units <= 0) return;
    const grant = allocation.grant === null ? null : this.grants.find((g) => g.label === allocation.grant)!;
    this.post('RELEASE', allocation.pool, allocation.type, grant, hold, units);
    if (grant && grant.expiresAt !== null && grant.expiresAt <= this.now) {
      this.post('EXPIRE', allocation.pool, null, grant, null, -units);
    } else if (grant && allocation.pool === 'WALLET') {
      this.collectOwed();
    }
  }

  private line(type: CreditType, amount: number, allocations: Allocation[]): Line {
    const paid = (wallet: boolean) =>
      allocations.filter((a) => (a.pool === 'WALLET') === wallet).reduce((sum, a) => sum + a.amount, 0);
    return { type, amount, fromAllowance: paid(false), fromWallet: paid(true), remaining: this.remaining(type) };
  }

  private hold(label: string): ModelHold {
    const hold = this.holds.find((h) => h.label === label);
    if (!hold) throw new Error(`model: no hold ${label}`);
    return hold;
  }

  private post(kind: string, pool: Pool, chargeType: CreditType | null, grant: ModelGrant | null, hold: ModelHold | null, amount: number): void {
    if (grant) grant.remaining += amount;
    this.rows.push({ kind, pool, chargeType, grant: grant?.label ?? null, hold: hold?.label ?? null, amount });
  }
}
