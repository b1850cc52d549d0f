import { CreditType } from '../src/credits/credit-type.enum';
import { CreditsService } from '../src/credits/credits.service';
import { ReconciliationService } from '../src/credits/reconciliation.service';
import { inTransaction } from '../src/database/transaction';
import { WalletTotals1795258801600 } from '../migrations/1795258801600-WalletTotals';
import { startTestApp, TestApp } from './support/test-app';

const WALLET = `{ billing { wallet { balance totalPurchased totalUsed } } }`;

describe('wallet totals (e2e): lifetime totals kept on the wallet balance row', () => {
  let t: TestApp;
  let credits: CreditsService;

  beforeAll(async () => {
    t = await startTestApp();
    credits = t.app.get(CreditsService);
  });
  afterAll(() => t.close());

  /** The wallet row's totals beside the sums of the rows they count. */
  const totals = async (accountId: string) =>
    (
      await t.dataSource.query(
        `SELECT b.total_purchased::int AS "totalPurchased", b.total_used::int AS "totalUsed",
                (SELECT coalesce(sum(amount), 0)::int FROM credit_grants
                  WHERE account_id = $1 AND pool = 'WALLET' AND kind = 'PURCHASE') AS "purchaseGrants",
                (SELECT coalesce(sum(from_wallet), 0)::int FROM credit_usage WHERE account_id = $1) AS "usageFromWallet"
           FROM credit_balances b WHERE b.account_id = $1 AND b.pool = 'WALLET'`,
        [accountId],
      )
    )[0];

  it('counts purchases and wallet-paid usage on every route that writes them, and the overview shows them', async () => {
    const accountId = 'totals-every-route';
    await credits.grant({ accountId, amount: 200, kind: 'PURCHASE', sourceKey: `${accountId}:purchase-1` });
    await credits.grant({ accountId, amount: 50, kind: 'PURCHASE', sourceKey: `${accountId}:purchase-2` });
    // The same key again grants nothing and counts nothing.
    await credits.grant({ accountId, amount: 50, kind: 'PURCHASE', sourceKey: `${accountId}:purchase-2` });
    // Promotional and admin credits are not purchases.
    await credits.grant({ accountId, amount: 30, kind: 'PROMO', sourceKey: `${accountId}:promo` });
    await credits.grant({ accountId, amount: 20, kind: 'ADMIN', sourceKey: `${accountId}:admin` });

    // The FREE allowance (10 messages) pays first; the wallet pays the rest.
    for (let i = 0; i < 12; i++) await credits.consume(accountId, { type: CreditType.MESSAGE, amount: 1 });
    // Concurrent charges, which the ledger may take together in one batch.
    await Promise.all(Array.from({ length: 15 }, () => credits.consume(accountId, { type: CreditType.MESSAGE, amount: 1 })));
    // A hold captured lower than reserved, one captured whole, one released.
    const lowered = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 5 }]);
    await credits.capture(accountId, lowered.id, { [CreditType.MESSAGE]: 3 });
    const whole = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 4 }]);
    await credits.capture(accountId, whole.id);
    const released = await credits.hold(accountId, [{ type: CreditType.MESSAGE, amount: 6 }]);
    await credits.release(accountId, released.id);

    // A refund takes purchased credits back; what was purchased and used stays what it was.
    const [purchase] = await t.dataSource.query(`SELECT id FROM credit_grants WHERE source_key = $1`, [`${accountId}:purchase-1`]);
    await inTransaction(t.dataSource, (manager) =>
      credits.clawBack(manager, { accountId, grantId: purchase.id, max: 40, reference: 'refund', description: 'refund' }),
    );

    const after = await totals(accountId);
    expect(after.totalPurchased).toBe(250);
    expect(after.totalUsed).toBe(2 + 15 + 3 + 4);
    expect(after.totalPurchased).toBe(after.purchaseGrants);
    expect(after.totalUsed).toBe(after.usageFromWallet);

    const overview = await t.gql(WALLET, {}, { as: accountId });
    expect(overview.errors).toBeUndefined();
    const [wallet] = await t.dataSource.query(
      `SELECT balance::int FROM credit_balances WHERE account_id = $1 AND pool = 'WALLET'`,
      [accountId],
    );
    expect(overview.data!.billing.wallet).toEqual({ balance: wallet.balance, totalPurchased: 250, totalUsed: 24 });
    await t.expectLedgerReconciles();
  });

  it('keeps the totals of other pools at zero', async () => {
    const accountId = 'totals-other-pools';
    await credits.grant({ accountId, amount: 10, kind: 'PURCHASE', sourceKey: `${accountId}:purchase` });
    await credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 3 });
    const rows = await t.dataSource.query(
      `SELECT pool, total_purchased::int AS purchased, total_used::int AS used FROM credit_balances
        WHERE account_id = $1 AND pool <> 'WALLET' ORDER BY pool`,
      [accountId],
    );
    expect(rows.every((row: { purchased: number; used: number }) => row.purchased === 0 && row.used === 0)).toBe(true);
    await expect(
      t.dataSource.query(`UPDATE credit_balances SET total_used = 1 WHERE account_id = $1 AND pool = 'MESSAGE'`, [accountId]),
    ).rejects.toThrow(/credit_balances_wallet_totals_check/);
  });

  it('reports a total that drifted from the rows it counts', async () => {
    const accountId = 'totals-drift';
    await credits.grant({ accountId, amount: 100, kind: 'PURCHASE', sourceKey: `${accountId}:purchase` });
    for (let i = 0; i < 11; i++) await credits.consume(accountId, { type: CreditType.MESSAGE, amount: 1 });
    const reconciliation = t.app.get(ReconciliationService);
    expect((await reconciliation.reconcile(accountId)).ok).toBe(true);

    await t.dataSource.query(
      `UPDATE credit_balances SET total_used = total_used + 2 WHERE account_id = $1 AND pool = 'WALLET'`,
      [accountId],
    );
    const drifted = await reconciliation.reconcile(accountId);
    expect(drifted.ok).toBe(false);
    expect(drifted.problems).toEqual([expect.stringContaining(`WALLET of ${accountId}:`)]);
    expect(drifted.problems[0]).toContain('total used 3 (usage paid from the wallet 1)');
    expect((await reconciliation.reconcile()).problems).toEqual(drifted.problems);

    await t.dataSource.query(
      `UPDATE credit_balances SET total_purchased = total_purchased - 1, total_used = total_used - 2
        WHERE account_id = $1 AND pool = 'WALLET'`,
      [accountId],
    );
    expect((await reconciliation.reconcile(accountId)).problems).toEqual([
      expect.stringContaining('total purchased 99 (purchase grants 100), total used 1 (usage paid from the wallet 1)'),
    ]);
    await t.dataSource.query(
      `UPDATE credit_balances SET total_purchased = total_purchased + 1 WHERE account_id = $1 AND pool = 'WALLET'`,
      [accountId],
    );
    await t.expectLedgerReconciles();
  });

  it('counts the totals of the rows already there when the columns are added', async () => {
    const before = await t.dataSource.query(
      `SELECT account_id, total_purchased::int, total_used::int FROM credit_balances WHERE pool = 'WALLET' ORDER BY 1`,
    );
    expect(before.some((row: { total_used: number }) => row.total_used > 0)).toBe(true);
    const runner = t.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      const migration = new WalletTotals1795258801600();
      await migration.down(runner);
      await migration.up(runner);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    const after = await t.dataSource.query(
      `SELECT account_id, total_purchased::int, total_used::int FROM credit_balances WHERE pool = 'WALLET' ORDER BY 1`,
    );
    expect(after).toEqual(before);
    await t.expectLedgerReconciles();
  });
});
