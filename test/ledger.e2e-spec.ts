import { AccountsService } from '../src/accounts/accounts.service';
import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsErrorCode, CreditsException } from '../src/credits/credits.exception';
import { CreditsService } from '../src/credits/credits.service';
import { LedgerFunctions } from '../src/credits/ledger-functions';
import { startTestApp, TestApp } from './support/test-app';

describe('credit ledger (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  let credits: CreditsService;
  let seq = 0;
  /** A fresh account per test keeps tests independent inside one database. */
  const newAccount = async () => {
    const id = `ledger-${++seq}`;
    await t.app.get(AccountsService).ensure(id);
    return id;
  };
  const pool = async (accountId: string, name: string) => {
    const [row] = await t.dataSource.query(
      `SELECT balance::int, held::int FROM credit_balances WHERE account_id = $1 AND pool = $2`,
      [accountId, name],
    );
    return row as { balance: number; held: number };
  };
  const ledgerRows = async (accountId: string) => {
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM credit_transactions WHERE account_id = $1`,
      [accountId],
    );
    return n as number;
  };
  const codeOf = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      if (error instanceof CreditsException) return error.code;
      throw error;
    }
    return 'NO_ERROR';
  };

  beforeAll(async () => {
    t = await startTestApp();
    credits = t.app.get(CreditsService);
  });
  afterEach(() => t.expectLedgerReconciles());
  afterAll(() => t.close());

  it('lets exactly 10 of 64 concurrent consumes of 1 through against 10 available', async () => {
    const accountId = await newAccount();
    const outcomes = await Promise.all(
      Array.from({ length: 64 }, () => credits.consume(accountId, { type: CreditType.MESSAGE, amount: 1 })),
    );
    expect(outcomes.filter((outcome) => outcome.allowed)).toHaveLength(10);
    expect(outcomes.filter((outcome) => !outcome.allowed)).toHaveLength(54);
    for (const refused of outcomes.filter((outcome) => !outcome.allowed)) {
      expect(refused.charged).toBe(0);
      expect(refused.refusal?.code).toBe(CreditsErrorCode.INSUFFICIENT_CREDITS);
    }
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 0, held: 0 });
    const [{ min }] = await t.dataSource.query(
      `SELECT min(balance_after)::int AS min FROM credit_transactions WHERE account_id = $1`,
      [accountId],
    );
    expect(min).toBe(0);
    const usage = await t.dataSource.query(`SELECT count(*)::int AS n FROM credit_usage WHERE account_id = $1`, [
      accountId,
    ]);
    expect(usage[0].n).toBe(10);
  });

  it('reserves nothing when one of several charges cannot be paid', async () => {
    const accountId = await newAccount();
    for (let i = 0; i < 3; i++) await credits.consume(accountId, { type: CreditType.PROJECT, amount: 1 });
    const rowsBefore = await ledgerRows(accountId);
    const code = await codeOf(
      credits.hold(accountId, [
        { type: CreditType.MESSAGE, amount: 1 },
        { type: CreditType.PROJECT, amount: 1 },
      ]),
    );
    expect(code).toBe(CreditsErrorCode.QUOTA_EXCEEDED);
    expect(await ledgerRows(accountId)).toBe(rowsBefore);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 10, held: 0 });
    expect(await pool(accountId, 'PROJECT')).toEqual({ balance: 3, held: 0 });
  });

  it('captures a smaller actual amount and gives the rest back', async () => {
    const accountId = await newAccount();
    const hold = await credits.hold(accountId, [{ type: CreditType.INTEGRATION, amount: 10 }]);
    expect(await pool(accountId, 'INTEGRATION')).toEqual({ balance: 90, held: 10 });
    const [settled] = await credits.capture(accountId, hold.id, { [CreditType.INTEGRATION]: 4 });
    expect(settled).toMatchObject({ type: 'INTEGRATION', amount: 4, fromAllowance: 4, fromWallet: 0, remaining: 96 });
    expect(await pool(accountId, 'INTEGRATION')).toEqual({ balance: 96, held: 0 });
    const kinds = await t.dataSource.query(
      `SELECT kind, amount::int FROM credit_transactions WHERE account_id = $1 AND pool = 'INTEGRATION' ORDER BY id`,
      [accountId],
    );
    expect(kinds).toEqual([
      { kind: 'GRANT', amount: 100 },
      { kind: 'HOLD', amount: -10 },
      { kind: 'RELEASE', amount: 6 },
    ]);
    // Capturing twice changes nothing; capturing more than was reserved is refused.
    await credits.capture(accountId, hold.id);
    expect(await pool(accountId, 'INTEGRATION')).toEqual({ balance: 96, held: 0 });
    const other = await credits.hold(accountId, [{ type: CreditType.INTEGRATION, amount: 2 }]);
    expect(await codeOf(credits.capture(accountId, other.id, { [CreditType.INTEGRATION]: 3 }))).toBe(
      CreditsErrorCode.INVALID_CHARGE,
    );
    await credits.release(accountId, other.id);
  });

  it('gives a released hold back whole, PROJECT units included', async () => {
    const accountId = await newAccount();
    const hold = await credits.hold(accountId, [
      { type: CreditType.MESSAGE, amount: 2 },
      { type: CreditType.PROJECT, amount: 1 },
    ]);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 8, held: 2 });
    expect(await pool(accountId, 'PROJECT')).toEqual({ balance: 0, held: 1 });
    await credits.release(accountId, hold.id);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 10, held: 0 });
    expect(await pool(accountId, 'PROJECT')).toEqual({ balance: 0, held: 0 });
    // Capturing it afterwards says the work was done after all: it is charged afresh, once.
    await credits.capture(accountId, hold.id);
    await credits.capture(accountId, hold.id);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 8, held: 0 });
    expect(await pool(accountId, 'PROJECT')).toEqual({ balance: 1, held: 0 });
    // A hold of another account is not found.
    const stranger = await newAccount();
    expect(await codeOf(credits.release(stranger, hold.id))).toBe(CreditsErrorCode.HOLD_NOT_FOUND);
  });

  it('lets the sweeper release a hold whose time ran out', async () => {
    const accountId = await newAccount();
    t.clock.set(new Date());
    const hold = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 3 }]);
    expect(await credits.expireHolds()).toBe(0);
    t.clock.advance((t.config.HOLD_TTL_SECONDS + 1) * 1000);
    expect(await credits.expireHolds()).toBe(1);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 10, held: 0 });
    const [row] = await t.dataSource.query(`SELECT status FROM credit_holds WHERE id = $1`, [hold.id]);
    expect(row.status).toBe('EXPIRED');
    // The request behind it succeeded after all: its charge is taken afresh, once, since it can still be paid.
    const late = await credits.capture(accountId, hold.id);
    expect(late).toMatchObject([{ type: CreditType.MESSAGE, amount: 3 }]);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 7, held: 0 });
    await credits.capture(accountId, hold.id);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 7, held: 0 });
    t.clock.set(new Date());
  });

  it('captures a hold past its expiry that no sweeper gave back: its credits went to nobody else', async () => {
    const accountId = await newAccount();
    t.clock.set(new Date());
    const hold = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 2 }]);
    t.clock.advance((t.config.HOLD_TTL_SECONDS + 60) * 1000);
    expect(await credits.capture(accountId, hold.id)).toMatchObject([{ type: CreditType.MESSAGE, amount: 2, fromAllowance: 2 }]);
    const [row] = await t.dataSource.query(`SELECT status FROM credit_holds WHERE id = $1`, [hold.id]);
    expect(row.status).toBe('CAPTURED');
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 8, held: 0 });
    t.clock.set(new Date());
  });

  it('charges once for the same idempotency key sent 20 times at once', async () => {
    const accountId = await newAccount();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 7 }, { idempotencyKey: 'job-42' }),
      ),
    );
    expect(outcomes.every((outcome) => outcome.allowed && outcome.charged === 7)).toBe(true);
    expect(outcomes.filter((outcome) => !outcome.replayed)).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.replayed)).toHaveLength(19);
    expect(outcomes.every((outcome) => outcome.remaining === 93)).toBe(true);
    expect(await pool(accountId, 'INTEGRATION')).toEqual({ balance: 93, held: 0 });
    // The same key with a different input is refused and charges nothing.
    expect(
      await codeOf(credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 8 }, { idempotencyKey: 'job-42' })),
    ).toBe(CreditsErrorCode.IDEMPOTENCY_CONFLICT);
    expect(
      await codeOf(credits.consume(accountId, { type: CreditType.MESSAGE, amount: 7 }, { idempotencyKey: 'job-42' })),
    ).toBe(CreditsErrorCode.IDEMPOTENCY_CONFLICT);
    expect(await pool(accountId, 'INTEGRATION')).toEqual({ balance: 93, held: 0 });
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 10, held: 0 });
  });

  it('spends the allowance first, then the wallet: promotional before purchased', async () => {
    const accountId = await newAccount();
    await credits.grant({ accountId, amount: 5, kind: 'PURCHASE', sourceKey: `test-purchase-${accountId}` });
    await credits.grant({ accountId, amount: 3, kind: 'PROMO', sourceKey: `test-promo-${accountId}` });
    const outcome = await credits.consume(accountId, { type: CreditType.MESSAGE, amount: 14 });
    expect(outcome).toMatchObject({ allowed: true, charged: 14, fromAllowance: 10, fromWallet: 4, remaining: 4 });
    const grants = await t.dataSource.query(
      `SELECT kind, remaining::int FROM credit_grants WHERE account_id = $1 AND pool = 'WALLET' ORDER BY kind`,
      [accountId],
    );
    expect(grants).toEqual([
      { kind: 'PROMO', remaining: 0 },
      { kind: 'PURCHASE', remaining: 4 },
    ]);
    // More than allowance and wallet together is refused whole.
    const refused = await credits.consume(accountId, { type: CreditType.MESSAGE, amount: 5 });
    expect(refused).toMatchObject({ allowed: false, charged: 0, remaining: 4 });
    expect(await pool(accountId, 'WALLET')).toEqual({ balance: 4, held: 0 });
    // A wallet grant is made once per source key.
    const again = await credits.grant({
      accountId,
      amount: 5,
      kind: 'PURCHASE',
      sourceKey: `test-purchase-${accountId}`,
    });
    expect(again.created).toBe(false);
    expect(await pool(accountId, 'WALLET')).toEqual({ balance: 4, held: 0 });
  });

  it('never lets the wallet pay for PROJECT units', async () => {
    const accountId = await newAccount();
    await credits.grant({ accountId, amount: 100, kind: 'ADMIN', sourceKey: `test-admin-${accountId}` });
    for (let i = 0; i < 3; i++) await credits.consume(accountId, { type: CreditType.PROJECT, amount: 1 });
    const refused = await credits.consume(accountId, { type: CreditType.PROJECT, amount: 1 });
    expect(refused.allowed).toBe(false);
    expect(refused.refusal?.code).toBe(CreditsErrorCode.QUOTA_EXCEEDED);
    expect(await pool(accountId, 'WALLET')).toEqual({ balance: 100, held: 0 });
  });

  it.each([
    ['a negative amount', { type: CreditType.MESSAGE, amount: -1 }],
    ['zero', { type: CreditType.MESSAGE, amount: 0 }],
    ['a fraction', { type: CreditType.MESSAGE, amount: 1.5 }],
    ['a huge amount', { type: CreditType.MESSAGE, amount: 2 ** 53 }],
    ['not a number', { type: CreditType.MESSAGE, amount: '3' as unknown as number }],
    ['an unknown type', { type: 'GOLD' as CreditType, amount: 1 }],
  ])('refuses %s with a validation error and writes nothing', async (_, charge) => {
    const accountId = await newAccount();
    const rowsBefore = await ledgerRows(accountId);
    expect(await codeOf(credits.consume(accountId, charge))).toBe(CreditsErrorCode.INVALID_CHARGE);
    expect(await codeOf(credits.hold(accountId, [charge]))).toBe(CreditsErrorCode.INVALID_CHARGE);
    expect(await ledgerRows(accountId)).toBe(rowsBefore);
  });

  it('refuses oversized idempotency keys and descriptions and writes nothing', async () => {
    const accountId = await newAccount();
    const rowsBefore = await ledgerRows(accountId);
    const charge = { type: CreditType.MESSAGE, amount: 1 };
    expect(await codeOf(credits.consume(accountId, charge, { idempotencyKey: 'k'.repeat(256) }))).toBe(
      CreditsErrorCode.INVALID_CHARGE,
    );
    expect(await codeOf(credits.consume(accountId, charge, { description: 'd'.repeat(501) }))).toBe(
      CreditsErrorCode.INVALID_CHARGE,
    );
    expect(await ledgerRows(accountId)).toBe(rowsBefore);
  });

  it('keeps the transaction table append-only', async () => {
    const accountId = await newAccount();
    await expect(t.dataSource.query(`UPDATE credit_transactions SET amount = 1000 WHERE account_id = $1`, [accountId]))
      .rejects.toThrow(/append-only/);
    await expect(t.dataSource.query(`DELETE FROM credit_transactions WHERE account_id = $1`, [accountId])).rejects.toThrow(
      /append-only/,
    );
  });

  it('refuses values outside the ledger sets and negative quantities in the database itself, changing nothing', async () => {
    const accountId = await newAccount();
    const rowsBefore = await ledgerRows(accountId);
    const attempts: Array<[string, unknown[], RegExp]> = [
      [`UPDATE credit_balances SET pool = 'GOLD' WHERE account_id = $1 AND pool = 'MESSAGE'`, [accountId], /ledger_pool/],
      [`UPDATE credit_grants SET kind = 'GIFT' WHERE account_id = $1`, [accountId], /grant_kind/],
      [`UPDATE credit_grants SET pool = 'PROJECT' WHERE account_id = $1`, [accountId], /grant_pool/],
      [
        `INSERT INTO credit_transactions (account_id, kind, pool, amount, balance_after) VALUES ($1, 'GIFT', 'MESSAGE', 1, 1)`,
        [accountId],
        /ledger_kind/,
      ],
      [
        `INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after)
         VALUES ($1, 'WALLET', 1, 1, 0, 0)`,
        [accountId],
        /credit_type/,
      ],
      // Quantities: never negative, amounts never zero, a grant never holding more than it was granted.
      [`UPDATE credit_balances SET balance = -1 WHERE account_id = $1 AND pool = 'MESSAGE'`, [accountId], /credit_quantity/],
      [`UPDATE credit_balances SET held = -1 WHERE account_id = $1 AND pool = 'MESSAGE'`, [accountId], /credit_quantity/],
      [`UPDATE credit_grants SET remaining = amount + 1 WHERE account_id = $1`, [accountId], /credit_grants_remaining_check/],
      [`UPDATE credit_grants SET amount = 0 WHERE account_id = $1`, [accountId], /credit_positive/],
      [
        `INSERT INTO credit_transactions (account_id, kind, pool, amount, balance_after) VALUES ($1, 'ADJUST', 'MESSAGE', 0, 1)`,
        [accountId],
        /credit_delta/,
      ],
      [
        `INSERT INTO credit_usage (account_id, credit_type, amount, from_allowance, from_wallet, remaining_after)
         VALUES ($1, 'MESSAGE', 1, 1, -1, 0)`,
        [accountId],
        /credit_quantity/,
      ],
    ];
    for (const [sql, parameters, domain] of attempts) {
      await expect(t.dataSource.query(sql, parameters)).rejects.toThrow(domain);
    }
    const hold = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 1 }]);
    await expect(t.dataSource.query(`UPDATE credit_holds SET status = 'DONE' WHERE id = $1`, [hold.id])).rejects.toThrow(
      /hold_status/,
    );
    await credits.release(accountId, hold.id);
    expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 10, held: 0 });
    expect(await ledgerRows(accountId)).toBe(rowsBefore + 2);
  });

  it('renews an account whose period ended in the same transaction as the charge that finds it', async () => {
    const accountId = await newAccount();
    await credits.consume(accountId, { type: CreditType.MESSAGE, amount: 6 });
    const [account] = await t.dataSource.query(`SELECT current_period_end FROM accounts WHERE id = $1`, [accountId]);
    t.clock.set(new Date(account.current_period_end.getTime() + 60_000));
    const outcome = await credits.consume(accountId, { type: CreditType.MESSAGE, amount: 1 });
    expect(outcome).toMatchObject({ allowed: true, fromAllowance: 1, remaining: 9 });
    const expired = await t.dataSource.query(
      `SELECT amount::int FROM credit_transactions WHERE account_id = $1 AND kind = 'EXPIRE' AND pool = 'MESSAGE'`,
      [accountId],
    );
    expect(expired).toEqual([{ amount: -4 }]);
    const [renewed] = await t.dataSource.query(`SELECT current_period_start FROM accounts WHERE id = $1`, [accountId]);
    expect(renewed.current_period_start.toISOString()).toBe(account.current_period_end.toISOString());
    t.clock.set(new Date());
  });

  it('holds and captures through the lean functions exactly as through the general ones', async () => {
    // Twin accounts take the same steps, one through credits_charge / credits_capture, the other through
    // credits_hold / credits_capture_whole: every answer and every row must match, on the lean path and on the
    // cases it hands over (a key, a pool paid by two grants, a lapsed grant).
    const [general, lean] = [await newAccount(), await newAccount()];
    const now = t.clock.now();
    const later = new Date(now.getTime() + 2 * 3_600_000);
    for (const accountId of [general, lean]) {
      await credits.grant({ accountId, amount: 7, kind: 'PROMO', sourceKey: `twin:${accountId}` });
      await credits.grant({ accountId, amount: 4, kind: 'PURCHASE', sourceKey: `twin-purchase:${accountId}` });
      await credits.grant({
        accountId,
        amount: 5,
        kind: 'PROMO',
        sourceKey: `twin-expiring:${accountId}`,
        expiresAt: new Date(now.getTime() + 3_600_000),
      });
    }
    const hold = (accountId: string, type: string, amount: number, key: string | null, at: Date, viaLean: boolean) =>
      t.dataSource
        .query(
          viaLean
            ? `SELECT credits_hold($1, $2, $3, 1, $4, 300, $5, $6, 'twin') AS r`
            : `SELECT credits_charge($1, 'HOLD', jsonb_build_array(jsonb_build_object('type', $2::text, 'amount', $3::bigint,
                 'walletRate', 1)), $4, 300, $5, $6, 'twin') AS r`,
          [accountId, type, amount, at, key, key && `hash:${type}:${amount}`],
        )
        .then(([row]) => row.r);
    const capture = (accountId: string, holdId: string, at: Date, viaLean: boolean) =>
      t.dataSource
        .query(
          viaLean
            ? `SELECT credits_capture_whole($1, $2, $3, '{"ok": true}') AS r`
            : `SELECT credits_capture($1, $2, '{}', $3, '{"ok": true}') AS r`,
          [accountId, holdId, at],
        )
        .then(([row]) => row.r);
    // The twins' periods start a few milliseconds apart; everything else must be equal.
    const anonymous = (outcome: { holdId?: string; alerts?: Array<Record<string, unknown>> }) => ({
      ...outcome,
      holdId: outcome.holdId ? 'hold' : null,
      alerts: outcome.alerts?.map(({ periodStart, ...alert }) => ({ ...alert, periodStart: typeof periodStart })),
    });

    // The wallet spends the expiring promotion first, then the other promotion, then the purchase.
    const steps: Array<[string, number, string | null, Date]> = [
      ['MESSAGE', 7, null, now], // allowance only, crossing 80 %
      ['MESSAGE', 4, null, now], // the rest of the allowance, then the wallet; crosses 100 %
      ['MESSAGE', 1, null, now], // the wallet only
      ['MESSAGE', 2, 'k1', now], // a key
      ['MESSAGE', 2, 'k1', now], // replay of a pending key
      ['INTEGRATION', 2, null, now],
      ['MESSAGE', 99, null, now], // refused: more than the wallet has left
      ['MESSAGE', 1, null, later], // the expiring promotion has lapsed with a credit left
      ['MESSAGE', 8, null, later], // two wallet grants pay
      ['MESSAGE', 1, null, later], // the purchase, one credit left after
    ];
    for (const [type, amount, key, at] of steps) {
      const [a, b] = [await hold(general, type, amount, key, at, false), await hold(lean, type, amount, key, at, true)];
      expect(anonymous(b)).toEqual(anonymous(a));
      if (a.status === 'OK' && !a.replayed) {
        expect(await capture(lean, b.holdId, at, true)).toEqual(await capture(general, a.holdId, at, false));
        // Capturing twice is answered as a replay by both.
        expect(await capture(lean, b.holdId, at, true)).toEqual(await capture(general, a.holdId, at, false));
      }
    }
    const rows = (accountId: string) =>
      t.dataSource.query(
        `SELECT kind, pool, charge_type, amount::int, balance_after::int, hold_id IS NOT NULL AS held,
                (SELECT kind FROM credit_grants g WHERE g.id = t.grant_id) AS grant_kind
           FROM credit_transactions t WHERE account_id = $1 ORDER BY id`,
        [accountId],
      );
    expect(await rows(lean)).toEqual(await rows(general));
    const state = (accountId: string) =>
      t.dataSource.query(
        `SELECT (SELECT json_agg(json_build_object('pool', pool, 'balance', balance, 'held', held) ORDER BY pool)
                   FROM credit_balances WHERE account_id = $1) AS balances,
                (SELECT json_agg(json_build_object('type', credit_type, 'amount', amount, 'allowance', from_allowance,
                   'wallet', from_wallet, 'remaining', remaining_after) ORDER BY id)
                   FROM credit_usage WHERE account_id = $1) AS usage,
                (SELECT json_agg(json_build_object('status', status, 'charges', charges, 'captured', captured,
                   'allocations', (SELECT json_agg(a - 'grant') FROM jsonb_array_elements(allocations) a))
                   ORDER BY created_at, status) FROM credit_holds WHERE account_id = $1) AS holds,
                (SELECT json_agg(threshold ORDER BY threshold) FROM usage_alerts WHERE account_id = $1) AS alerts`,
        [accountId],
      );
    const [generalState] = await state(general);
    expect(generalState.alerts).toEqual([80, 100]);
    expect(generalState.usage).toHaveLength(8);
    expect(generalState.balances).toContainEqual({ pool: 'WALLET', balance: 1, held: 0 });
    expect((await rows(general)).filter((row: { kind: string }) => row.kind === 'EXPIRE')).toHaveLength(1);
    expect((await state(lean))[0]).toEqual(generalState);
  });

  it('settles a batch of consumptions with each its own answer and rows (group commit)', async () => {
    const [first, second] = [await newAccount(), await newAccount()];
    const ledger = t.app.get(LedgerFunctions);
    const base = { walletRate: 1, description: null };
    const results = await ledger.consumeBatch(
      [
        { ...base, account: first, type: CreditType.MESSAGE, amount: 6, key: 'k1', hash: 'h1' },
        { ...base, account: second, type: CreditType.INTEGRATION, amount: 30, key: null, hash: null },
        { ...base, account: first, type: CreditType.MESSAGE, amount: 6, key: 'k1', hash: 'h1' },
        { ...base, account: first, type: CreditType.MESSAGE, amount: 1, key: 'k1', hash: 'other' },
        { ...base, account: first, type: CreditType.MESSAGE, amount: 5, key: null, hash: null },
        { ...base, account: first, type: CreditType.MESSAGE, amount: 4, key: 'k2', hash: 'h2' },
        { ...base, account: 'nobody-yet', type: CreditType.MESSAGE, amount: 1, key: null, hash: null },
      ],
      t.clock.now(),
    );
    expect(results.map((result) => result.status)).toEqual([
      'OK',
      'OK',
      'OK',
      'IDEMPOTENCY_CONFLICT',
      'REFUSED',
      'OK',
      'NO_ACCOUNT',
    ]);
    expect(results[2]).toMatchObject({ replayed: true });
    expect(results[4]).toMatchObject({ creditType: 'MESSAGE', required: 5, available: 4 });
    expect(await pool(first, 'MESSAGE')).toEqual({ balance: 0, held: 0 });
    expect(await pool(second, 'INTEGRATION')).toEqual({ balance: 70, held: 0 });
    const usage = await t.dataSource.query(
      `SELECT amount::int, idempotency_key FROM credit_usage WHERE account_id = $1 ORDER BY id`,
      [first],
    );
    expect(usage).toEqual([
      { amount: 6, idempotency_key: 'k1' },
      { amount: 4, idempotency_key: 'k2' },
    ]);
    const alerts = await t.dataSource.query(`SELECT threshold FROM usage_alerts WHERE account_id = $1 ORDER BY threshold`, [
      first,
    ]);
    expect(alerts).toEqual([{ threshold: 80 }, { threshold: 100 }]);
  });

  it('settles guarded holds and whole captures of many requests in one transaction, each answered alone', async () => {
    const [first, second] = [await newAccount(), await newAccount()];
    const ledger = t.app.get(LedgerFunctions);
    const earlier = await credits.hold(second, [{ type: CreditType.INTEGRATION, amount: 30 }]);
    const hold = (account: string, type: CreditType, amount: number) => ({
      account,
      hold: null,
      type,
      amount,
      walletRate: 1,
      description: 'batch',
      result: null,
    });
    const capture = (account: string, holdId: string, result: string | null = null) => ({
      account,
      hold: holdId,
      type: null,
      amount: null,
      walletRate: null,
      description: null,
      result,
    });
    const unknownHold = '00000000-0000-4000-8000-000000000000';
    const results = await ledger.guardBatch(
      [
        hold(first, CreditType.MESSAGE, 8),
        hold(first, CreditType.MESSAGE, 3), // refused: 2 left and an empty wallet
        capture(second, earlier.id, '{"answer": 42}'),
        capture(second, earlier.id), // captured already: a replay
        capture(second, unknownHold),
        hold('nobody-yet', CreditType.MESSAGE, 1),
      ],
      t.clock.now(),
      300,
    );
    expect(results.map((result) => result.status)).toEqual(['OK', 'REFUSED', 'OK', 'OK', 'NOT_FOUND', 'NO_ACCOUNT']);
    expect(results[0]).toMatchObject({ replayed: false, charges: [{ type: 'MESSAGE', amount: 8, fromAllowance: 8 }] });
    expect(results[0]).toMatchObject({ alerts: [{ creditType: 'MESSAGE', threshold: 80 }] });
    expect(results[1]).toMatchObject({ creditType: 'MESSAGE', required: 3, available: 2 });
    expect(results[2]).toMatchObject({ holdStatus: 'CAPTURED', replayed: false, charges: [{ amount: 30, remaining: 70 }] });
    expect(results[3]).toMatchObject({ holdStatus: 'CAPTURED', replayed: true });
    expect(await pool(first, 'MESSAGE')).toEqual({ balance: 2, held: 8 });
    expect(await pool(second, 'INTEGRATION')).toEqual({ balance: 70, held: 0 });
    const [captured] = await t.dataSource.query(`SELECT status, result FROM credit_holds WHERE id = $1`, [earlier.id]);
    expect(captured).toEqual({ status: 'CAPTURED', result: { answer: 42 } });
    const usage = await t.dataSource.query(`SELECT amount::int, hold_id FROM credit_usage WHERE account_id = $1`, [second]);
    expect(usage).toEqual([{ amount: 30, hold_id: earlier.id }]);
  });

  it('lets concurrent guarded requests share commits, and one bad request fail alone', async () => {
    const accounts = await Promise.all(Array.from({ length: 12 }, () => newAccount()));
    const batches = jest.spyOn(t.app.get(LedgerFunctions), 'guardBatch');
    try {
      // 12 accounts with 10 MESSAGE credits each, 3 holds of 3 at once on each: all 36 fit.
      const holds = await Promise.all(
        accounts.flatMap((accountId) =>
          [1, 2, 3].map(() =>
            credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 3 }]).then((held) => ({ accountId, held })),
          ),
        ),
      );
      batches.mockClear();
      // Two batches take the free slots; what arrives meanwhile leaves together, the bad capture among it.
      const settled = await Promise.allSettled([
        ...holds.map(({ accountId, held }) => credits.capture(accountId, held.id)),
        credits.capture(accounts[0], 'not-a-hold-id'),
      ]);
      expect(settled.slice(0, -1).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
      expect(settled.at(-1)).toMatchObject({ status: 'rejected' });
      const sizes = batches.mock.calls.map(([operations]) => operations.length);
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(batches.mock.calls.some(([operations]) => operations.length > 1 && operations.some((o) => o.hold === 'not-a-hold-id'))).toBe(true);
    } finally {
      batches.mockRestore();
    }
    for (const accountId of accounts) {
      expect(await pool(accountId, 'MESSAGE')).toEqual({ balance: 1, held: 0 });
      const [{ n }] = await t.dataSource.query(
        `SELECT count(*)::int AS n FROM credit_holds WHERE account_id = $1 AND status = 'CAPTURED'`,
        [accountId],
      );
      expect(n).toBe(3);
    }
  });
});
