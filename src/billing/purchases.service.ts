import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { EntityManager, FindOptionsWhere, Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { pageInCreationOrder } from '../common/creation-order-page';
import { Page } from '../common/pagination';
import { ACCOUNT_ID_PATTERN } from '../auth/token.service';
import { AccountsService } from '../accounts/accounts.service';
import { CreditsService } from '../credits/credits.service';
import { PlansErrorCode, PlansException } from '../plans/plans.exception';
import { PlansService } from '../plans/plans.service';
import { CheckoutSessionOutput } from './dtos/checkout-session.output';
import { CreditPurchaseEntity } from './entities/credit-purchase.entity';
import { StripeGateway } from './stripe/stripe.gateway';

/** What identifies a purchase in a Stripe object: our id in metadata, the checkout session or the payment intent. */
export interface PurchaseReference {
  purchaseId?: string | null;
  checkoutSessionId?: string | null;
  paymentIntentId?: string | null;
  /** The metadata set at checkout, to rebuild a purchase row this service never stored. */
  metadata?: Record<string, string> | null;
  /** What the completed Checkout Session says was paid (after discounts and taxes); it replaces the list price. */
  paid?: { amountCents: number | null; currency: string | null } | null;
}

export const CREDIT_PACKAGE_METADATA_TYPE = 'credit_package';

/** The amount a reference reports as paid, when it is a usable one (whole cents, a currency code). */
function paidAmount(reference: PurchaseReference): { amountCents: number; currency: string } | null {
  const amountCents = reference.paid?.amountCents;
  const currency = reference.paid?.currency;
  if (typeof amountCents !== 'number' || !Number.isSafeInteger(amountCents) || amountCents < 0) return null;
  if (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency)) return null;
  return { amountCents, currency };
}

/** Credit packages bought through Stripe Checkout: the session, the wallet grant once paid, refunds. */
@Injectable()
export class PurchasesService {
  private readonly logger = new Logger(PurchasesService.name);

  constructor(
    private readonly gateway: StripeGateway,
    private readonly accounts: AccountsService,
    private readonly credits: CreditsService,
    private readonly plans: PlansService,
    private readonly clock: Clock,
    @InjectRepository(CreditPurchaseEntity) private readonly purchases: Repository<CreditPurchaseEntity>,
  ) {}

  /**
   * Opens a Checkout Session for a package and records the purchase as PENDING. Nothing is credited here: the
   * wallet is filled when Stripe's webhook confirms payment. An unknown package is reported as such, Stripe
   * configured or not.
   */
  async startCheckout(accountId: string, packageId: string): Promise<CheckoutSessionOutput> {
    const pack = await this.plans.getPackage(packageId);
    this.gateway.assertConfigured();
    const price = await this.gateway.priceByLookupKey(pack.stripeLookupKey);
    const customer = await this.gateway.customerFor(await this.accounts.current(accountId));
    const purchaseId = randomUUID();
    const metadata = {
      type: CREDIT_PACKAGE_METADATA_TYPE,
      accountId,
      packageId: pack.id,
      credits: String(pack.credits),
      purchaseId,
    };
    const session = await this.gateway.call('start the checkout', (stripe) =>
      stripe.checkout.sessions.create(
        {
          mode: 'payment',
          customer,
          client_reference_id: accountId,
          line_items: [{ price: price.id, quantity: 1 }],
          metadata,
          payment_intent_data: { metadata },
          success_url: this.gateway.returnUrl('/billing/credits?purchase=success&session_id={CHECKOUT_SESSION_ID}'),
          cancel_url: this.gateway.returnUrl('/billing/credits?purchase=canceled'),
        },
        { idempotencyKey: `checkout:${purchaseId}` },
      ),
    );
    await this.purchases.insert({
      id: purchaseId,
      accountId,
      packageId: pack.id,
      credits: pack.credits,
      // What the session will charge; the completed session's amount replaces it once paid.
      amountCents: session.amount_total ?? price.unit_amount ?? pack.priceCents,
      currency: session.currency ?? price.currency ?? pack.currency,
      status: 'PENDING',
      stripeCheckoutSessionId: session.id,
      stripePaymentIntentId: typeof session.payment_intent === 'string' ? session.payment_intent : null,
      createdAt: this.clock.now(),
    });
    if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a URL`);
    return { sessionId: session.id, url: session.url, credits: pack.credits };
  }

  /** The package sold at a Stripe price (the earlier frontends send price ids). */
  async packageForPrice(priceId: string): Promise<string> {
    const price = await this.gateway.call('look up the price', (stripe) => stripe.prices.retrieve(priceId));
    const pack = (await this.plans.listPackages()).find((candidate) => candidate.stripeLookupKey === price.lookup_key);
    if (!pack) throw new PlansException(PlansErrorCode.PACKAGE_NOT_FOUND, `Price ${priceId} is not a credit package.`);
    return pack.id;
  }

  /**
   * Credits a paid purchase to the wallet, once: the purchase row is locked, and the grant's source key is the
   * purchase id, so every Stripe event that reports the same payment lands on the same grant. The amount paid, when
   * the reference carries it, is recorded as the purchase's amount.
   */
  async complete(manager: EntityManager, reference: PurchaseReference): Promise<'credited' | 'already' | 'unknown'> {
    const purchase = await this.lockPurchase(manager, reference);
    if (!purchase) return 'unknown';
    if (typeof reference.paymentIntentId === 'string' && reference.paymentIntentId && !purchase.stripePaymentIntentId) {
      purchase.stripePaymentIntentId = reference.paymentIntentId;
      await manager.update(CreditPurchaseEntity, purchase.id, { stripePaymentIntentId: reference.paymentIntentId });
    }
    const paid = paidAmount(reference);
    if (paid && (paid.amountCents !== purchase.amountCents || paid.currency !== purchase.currency)) {
      await manager.update(CreditPurchaseEntity, purchase.id, paid);
    }
    if (purchase.status === 'COMPLETED' || purchase.status === 'REFUNDED') return 'already';
    // A refund or dispute may have arrived first: only what was not reversed is credited.
    const reversed = Math.max(purchase.creditsClawedBack, await this.reversedBeforehand(manager, purchase));
    const credits = purchase.credits - reversed;
    if (credits <= 0) {
      await manager.update(CreditPurchaseEntity, purchase.id, {
        status: 'REFUNDED',
        creditsClawedBack: purchase.credits,
        completedAt: this.clock.now(),
        refundedAt: this.clock.now(),
      });
      this.logger.log(`Purchase ${purchase.id}: paid and already refunded, nothing credited`);
      return 'already';
    }
    const pack = await this.plans.getPackage(purchase.packageId, manager);
    const grant = await this.credits.grant(
      {
        accountId: purchase.accountId,
        amount: credits,
        kind: 'PURCHASE',
        sourceKey: `purchase:${purchase.id}`,
        description: `${pack.name} credit package`,
        reference: purchase.stripeCheckoutSessionId ?? purchase.stripePaymentIntentId,
      },
      manager,
    );
    await manager.update(CreditPurchaseEntity, purchase.id, {
      status: 'COMPLETED',
      grantId: grant.grantId,
      creditsClawedBack: reversed,
      completedAt: this.clock.now(),
    });
    this.logger.log(`Purchase ${purchase.id}: ${credits} credits added to ${purchase.accountId}`);
    return 'credited';
  }

  /** The credits of a purchase that a refund or dispute reversed before the purchase was known to be paid. */
  private async reversedBeforehand(manager: EntityManager, purchase: CreditPurchaseEntity): Promise<number> {
    if (!purchase.stripePaymentIntentId) return 0;
    const [reversal]: Array<{ refunded: string; total: string }> = await manager.query(
      `SELECT refunded_cents AS refunded, total_cents AS total FROM payment_reversals WHERE payment_intent_id = $1`,
      [purchase.stripePaymentIntentId],
    );
    return reversal ? refundedCredits(purchase.credits, Number(reversal.refunded), Number(reversal.total)) : 0;
  }

  /** A checkout that will never be paid (expired session, failed delayed payment). */
  async fail(manager: EntityManager, reference: PurchaseReference): Promise<void> {
    const purchase = await this.lockPurchase(manager, reference);
    if (purchase?.status === 'PENDING') await manager.update(CreditPurchaseEntity, purchase.id, { status: 'FAILED' });
  }

  /**
   * Takes the refunded share of a purchase's credits back from the wallet (see CreditsService.clawBack), and marks
   * the purchase REFUNDED once fully refunded. Repeated or partial refunds take back only what was not due before.
   */
  async clawBack(
    manager: EntityManager,
    reference: PurchaseReference,
    refundedShare: { refunded: number; total: number },
    reason: string,
  ): Promise<number> {
    const { refunded, total } = refundedShare;
    if (!Number.isSafeInteger(refunded) || !Number.isSafeInteger(total) || refunded < 0 || total < 0) return 0;
    const purchase = await this.lockPurchase(manager, reference);
    const full = refundedShare.total <= 0 || refundedShare.refunded >= refundedShare.total;
    if (!purchase?.grantId) {
      // Not known to be paid yet (Stripe's events come in any order): kept, so the purchase is credited less.
      await this.keepReversal(manager, reference, refundedShare);
      if (purchase && purchase.status === 'PENDING') {
        const target = refundedCredits(purchase.credits, refunded, total);
        await manager.update(CreditPurchaseEntity, purchase.id, {
          creditsClawedBack: Math.max(target, purchase.creditsClawedBack),
        });
      }
      this.logger.log(`${reason} before its purchase was known to be paid: kept for when it is`);
      return 0;
    }
    const target = refundedCredits(purchase.credits, refunded, total);
    const due = target - purchase.creditsClawedBack;
    let taken = 0;
    if (due > 0) {
      ({ taken } = await this.credits.clawBack(manager, {
        accountId: purchase.accountId,
        grantId: purchase.grantId,
        max: due,
        reference: purchase.stripePaymentIntentId ?? purchase.id,
        description: reason,
      }));
    }
    await manager.update(CreditPurchaseEntity, purchase.id, {
      creditsClawedBack: Math.max(target, purchase.creditsClawedBack),
      ...(full && { status: 'REFUNDED' as const, refundedAt: this.clock.now() }),
    });
    this.logger.log(`Purchase ${purchase.id}: ${reason}; ${taken} of ${Math.max(due, 0)} credits taken back`);
    return taken;
  }

  private async keepReversal(
    manager: EntityManager,
    reference: PurchaseReference,
    share: { refunded: number; total: number },
  ): Promise<void> {
    const intent = typeof reference.paymentIntentId === 'string' && reference.paymentIntentId ? reference.paymentIntentId : null;
    if (!intent) return;
    const total = share.total <= 0 ? 1 : share.total;
    const refunded = share.total <= 0 ? 1 : Math.min(share.refunded, share.total);
    // The largest share reported wins: refunds only grow, and a dispute reverses the whole payment.
    await manager.query(
      `INSERT INTO payment_reversals (payment_intent_id, refunded_cents, total_cents, created_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (payment_intent_id) DO UPDATE SET
         refunded_cents = CASE WHEN EXCLUDED.refunded_cents * payment_reversals.total_cents
                                    > payment_reversals.refunded_cents * EXCLUDED.total_cents
                               THEN EXCLUDED.refunded_cents ELSE payment_reversals.refunded_cents END,
         total_cents = CASE WHEN EXCLUDED.refunded_cents * payment_reversals.total_cents
                                 > payment_reversals.refunded_cents * EXCLUDED.total_cents
                            THEN EXCLUDED.total_cents ELSE payment_reversals.total_cents END`,
      [intent, refunded, total, this.clock.now()],
    );
  }

  /** The account's purchases, newest first, `first` at a time after the cursor (creation time and id). */
  page(accountId: string, first: number, after?: string | null): Promise<Page<CreditPurchaseEntity>> {
    return pageInCreationOrder(this.purchases, accountId, first, after, 'DESC');
  }

  /**
   * Finds and locks the purchase a Stripe object refers to. A purchase made through Checkout but never recorded
   * here (the request failed after Stripe answered) is rebuilt from the checkout metadata.
   */
  private async lockPurchase(manager: EntityManager, reference: PurchaseReference): Promise<CreditPurchaseEntity | null> {
    const lookups: Array<FindOptionsWhere<CreditPurchaseEntity>> = [];
    // Only conditions with a value: TypeORM reads an undefined condition as "any row".
    const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);
    const purchaseId = text(reference.purchaseId) ?? text(reference.metadata?.purchaseId) ?? undefined;
    const sessionId = text(reference.checkoutSessionId);
    const intentId = text(reference.paymentIntentId);
    if (purchaseId && isUUID(purchaseId)) lookups.push({ id: purchaseId });
    if (sessionId) lookups.push({ stripeCheckoutSessionId: sessionId });
    if (intentId) lookups.push({ stripePaymentIntentId: intentId });
    for (const where of lookups) {
      const found = await manager.findOne(CreditPurchaseEntity, { where, lock: { mode: 'pessimistic_write' } });
      if (found) return found;
    }
    return this.rebuildFromMetadata(manager, reference, purchaseId);
  }

  private async rebuildFromMetadata(
    manager: EntityManager,
    reference: PurchaseReference,
    purchaseId: string | undefined,
  ): Promise<CreditPurchaseEntity | null> {
    const metadata = reference.metadata;
    if (metadata?.type !== CREDIT_PACKAGE_METADATA_TYPE) return null;
    if (typeof metadata.accountId !== 'string' || !ACCOUNT_ID_PATTERN.test(metadata.accountId)) return null;
    if (typeof metadata.packageId !== 'string') return null;
    if (!purchaseId || !isUUID(purchaseId)) return null;
    const pack = await this.plans.getPackage(metadata.packageId, manager).catch(() => null);
    if (!pack) return null;
    await this.accounts.ensure(metadata.accountId, manager);
    await manager.query(
      `INSERT INTO credit_purchases (id, account_id, package_id, credits, amount_cents, currency, status,
                                     stripe_checkout_session_id, stripe_payment_intent_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $8, $9) ON CONFLICT DO NOTHING`,
      [
        purchaseId,
        metadata.accountId,
        pack.id,
        pack.credits,
        pack.priceCents,
        pack.currency,
        reference.checkoutSessionId ?? null,
        reference.paymentIntentId ?? null,
        this.clock.now(),
      ],
    );
    return manager.findOne(CreditPurchaseEntity, { where: { id: purchaseId }, lock: { mode: 'pessimistic_write' } });
  }
}

/** The credits of a purchase that a refund of `refunded` out of `total` cents takes back (all of them when whole). */
function refundedCredits(credits: number, refunded: number, total: number): number {
  if (total <= 0 || refunded >= total) return credits;
  return Math.floor((credits * refunded) / total);
}
