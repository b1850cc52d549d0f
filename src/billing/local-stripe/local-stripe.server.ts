import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import { STRIPE_API_VERSION } from '../stripe/stripe.client';
import {
  adminPage,
  authenticationPage,
  CheckoutView,
  checkoutPage,
  closedCheckoutPage,
  declinedPage,
  invoicePage,
  notFoundPage,
  PaymentView,
  portalPage,
  SubscriptionView,
} from './local-stripe.pages';
import { periodInvoiceLine, stripeEvent } from './stripe-events';
import { WebhookDelivery } from './webhook-delivery';

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, any>;
  headers: http.IncomingHttpHeaders;
}

type Handler = (request: RecordedRequest, match: RegExpExecArray) => { status?: number; body: any };

type PageAnswer = { status?: number; html?: string; redirect?: string };
type PageHandler = (params: Record<string, any>, match: RegExpExecArray) => PageAnswer;

const newId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

/** How many answers are kept for replays of their idempotency keys. */
const IDEMPOTENT_ANSWERS = 1_000;

/** The error of a card the bank refused, as a payment intent carries it. */
const CARD_DECLINED = { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' };

/**
 * A local Stripe-compatible HTTP server, for the tests and for development without a Stripe account: the real
 * `stripe` SDK talks to it through STRIPE_API_BASE. It checks what it receives (path, form-encoded parameters, API
 * version, key), keeps the objects it creates in memory and answers with objects shaped like Stripe's at the pinned
 * API version. Faults can be injected per path.
 *
 * Told a webhook endpoint (`deliverWebhooksTo`), it also plays the customer's and Stripe's side: its hosted checkout
 * page (`/checkout/<session>`) pays, declines or asks for 3-D Secure, its admin panel (`/`) refunds, disputes, renews
 * and cancels, and every change is delivered as signed events, in Stripe's order, after the API answer.
 */
export class LocalStripeServer {
  readonly requests: RecordedRequest[] = [];
  readonly prices = new Map<string, any>();
  readonly products = new Map<string, any>();
  readonly customers = new Map<string, any>();
  readonly sessions = new Map<string, any>();
  readonly subscriptions = new Map<string, any>();
  readonly invoices = new Map<string, any>();
  readonly invoicePayments = new Map<string, any>();
  readonly refunds = new Map<string, any>();
  readonly paymentIntents = new Map<string, any>();
  readonly disputes = new Map<string, any>();
  readonly portalSessions = new Map<string, any>();
  /** Subscriptions whose next renewal payment is declined (set from the admin panel). */
  private readonly failingRenewals = new Set<string>();
  /** Where events are delivered; none unless `deliverWebhooksTo` was called (the tests post their own). */
  private delivery: WebhookDelivery | null = null;
  /** Requests refused because of a wrong API version or key; a test expects this to stay empty. */
  readonly rejected: RecordedRequest[] = [];
  private readonly faults: Array<{ pattern: RegExp; status?: number; delayMs?: number; times: number }> = [];
  private readonly idempotent = new Map<string, { status: number; body: any }>();
  /** How the next invoice payments attempted here end, in order; with none queued a payment succeeds. */
  private readonly paymentOutcomes: PaymentFailure[] = [];
  /** Idempotency keys of requests still being answered: Stripe refuses a second one with 409 meanwhile. */
  private readonly inFlight = new Set<string>();
  private server!: http.Server;
  /** The API address (STRIPE_API_BASE). */
  url = '';
  /** The address of the pages, for a browser on this machine. */
  pagesUrl = '';

  /**
   * With `hostedPages`, the URLs of checkout sessions, portal sessions and hosted invoices lead to this server's own
   * pages, for a browser; otherwise to Stripe-like addresses nobody opens (the tests). `record: false` keeps no
   * record of the requests (`requests`, `calls`), which only tests read: a development server runs for days.
   */
  constructor(
    readonly secretKey = 'sk_test_fake',
    private readonly options: { hostedPages?: boolean; record?: boolean } = {},
  ) {}

  /** Listens on 127.0.0.1 at `port` (0: a free one). */
  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    const { port: bound } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${bound}`;
    this.pagesUrl = `http://localhost:${bound}`;
    return this;
  }

  /** From now on, everything that happens here is delivered as signed events to `url`. */
  deliverWebhooksTo(url: string, secret: string): WebhookDelivery {
    this.delivery = new WebhookDelivery(url, secret);
    return this.delivery;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * The next `times` requests whose path matches answer `status` (a Stripe API error; 409 is Stripe's
   * idempotency-key-in-use refusal), or hang for `delayMs`.
   */
  fault(pattern: RegExp, options: { status?: number; delayMs?: number; times?: number }): void {
    this.faults.push({ pattern, times: options.times ?? 1, ...options });
  }

  calls(method: string, pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((request) => request.method === method && pattern.test(request.path));
  }

  /** Creates the catalog prices directly, as `npm run stripe:setup` would. */
  seedPrice(lookupKey: string, unitAmount: number, extra: Record<string, any> = {}): any {
    const price = {
      id: newId('price'),
      object: 'price',
      active: true,
      currency: 'usd',
      lookup_key: lookupKey,
      unit_amount: unitAmount,
      product: newId('prod'),
      metadata: {},
      type: extra.recurring ? 'recurring' : 'one_time',
      recurring: null,
      ...extra,
    };
    this.prices.set(price.id, price);
    return price;
  }

  private readonly routes: Array<[string, RegExp, Handler]> = [
    ['GET', /^\/v1\/prices$/, ({ params }) => {
      const keys: string[] = params.lookup_keys ?? [];
      const data = [...this.prices.values()].filter(
        (price) => (!keys.length || keys.includes(price.lookup_key)) && (params.active === undefined || String(price.active) === params.active),
      );
      return { body: { object: 'list', data, has_more: false, url: '/v1/prices' } };
    }],
    ['GET', /^\/v1\/prices\/([\w-]+)$/, (_, match) => {
      const price = this.prices.get(match[1]);
      return price ? { body: price } : notFound('price', match[1]);
    }],
    ['POST', /^\/v1\/prices$/, ({ params }) => {
      if (params.lookup_key && [...this.prices.values()].some((price) => price.lookup_key === params.lookup_key)) {
        return { status: 400, body: stripeError('invalid_request_error', 'lookup_key already in use') };
      }
      const price = this.seedPrice(params.lookup_key, Number(params.unit_amount), {
        currency: params.currency,
        product: params.product,
        metadata: params.metadata ?? {},
        recurring: params.recurring ? { interval: params.recurring.interval } : null,
        type: params.recurring ? 'recurring' : 'one_time',
      });
      return { body: price };
    }],
    ['GET', /^\/v1\/products\/([\w-]+)$/, (_, match) => {
      const product = this.products.get(match[1]);
      return product ? { body: product } : notFound('product', match[1]);
    }],
    ['POST', /^\/v1\/products$/, ({ params }) => {
      const id = params.id ?? newId('prod');
      if (this.products.has(id)) {
        return { status: 400, body: stripeError('invalid_request_error', 'Product already exists.', 'resource_already_exists') };
      }
      const product = { id, object: 'product', name: params.name, metadata: params.metadata ?? {}, active: true };
      this.products.set(id, product);
      return { body: product };
    }],
    ['POST', /^\/v1\/customers$/, ({ params }) => {
      const customer = { id: newId('cus'), object: 'customer', metadata: params.metadata ?? {}, email: params.email ?? null };
      this.customers.set(customer.id, customer);
      return { body: customer };
    }],
    ['POST', /^\/v1\/checkout\/sessions$/, ({ params }) => {
      const id = newId('cs_test');
      const paymentIntent = params.mode === 'payment' ? newId('pi') : null;
      const prices = (params.line_items ?? []).map((item: any) => ({ price: this.prices.get(item.price), quantity: Number(item.quantity ?? 1) }));
      const session = {
        id,
        object: 'checkout.session',
        mode: params.mode,
        url: this.options.hostedPages ? `${this.pagesUrl}/checkout/${id}` : `https://checkout.stripe.test/c/pay/${id}`,
        customer: params.customer ?? null,
        client_reference_id: params.client_reference_id ?? null,
        metadata: params.metadata ?? {},
        payment_intent: paymentIntent,
        payment_status: 'unpaid',
        status: 'open',
        created: now(),
        expires_at: params.expires_at ? Number(params.expires_at) : now() + 24 * 3600,
        amount_subtotal: prices.reduce((sum: number, item: any) => sum + (item.price?.unit_amount ?? 0) * item.quantity, 0),
        amount_total: prices.reduce((sum: number, item: any) => sum + (item.price?.unit_amount ?? 0) * item.quantity, 0),
        currency: prices[0]?.price?.currency ?? null,
        subscription: null,
        invoice: null,
        success_url: params.success_url,
        cancel_url: params.cancel_url,
        line_items: params.line_items,
        payment_intent_data: params.payment_intent_data,
        subscription_data: params.subscription_data,
      };
      this.sessions.set(id, session);
      return { body: session };
    }],
    ['GET', /^\/v1\/checkout\/sessions\/([\w-]+)$/, (_, match) => {
      const session = this.sessions.get(match[1]);
      return session ? { body: session } : notFound('checkout.session', match[1]);
    }],
    ['POST', /^\/v1\/checkout\/sessions\/([\w-]+)\/expire$/, (_, match) => {
      const session = this.sessions.get(match[1]);
      if (!session) return notFound('checkout.session', match[1]);
      if (session.status !== 'open') {
        return { status: 400, body: stripeError('invalid_request_error', `Only open sessions can be expired (${session.status}).`) };
      }
      Object.assign(session, { status: 'expired', url: null });
      return { body: session };
    }],
    ['DELETE', /^\/v1\/subscriptions\/([\w-]+)$/, (_, match) => {
      const subscription = this.subscriptions.get(match[1]);
      if (!subscription) return notFound('subscription', match[1]);
      if (subscription.status === 'canceled') {
        return { status: 400, body: stripeError('invalid_request_error', 'This subscription is already canceled.') };
      }
      this.endSubscription(subscription);
      return { body: subscription };
    }],
    ['GET', /^\/v1\/invoice_payments$/, ({ params }) => {
      const expandIntent = (params.expand ?? []).includes('data.payment.payment_intent');
      const data = [...this.invoicePayments.values()]
        .filter((payment) => (!params.invoice || payment.invoice === params.invoice) && (!params.status || payment.status === params.status))
        .map((payment) => (expandIntent ? this.withPaymentIntent(payment) : payment));
      return { body: { object: 'list', data, has_more: false, url: '/v1/invoice_payments' } };
    }],
    ['POST', /^\/v1\/refunds$/, ({ params }) =>
      this.refund(params.payment_intent, params.amount ? Number(params.amount) : undefined, params.reason ?? null, params.metadata ?? {}),
    ],
    ['GET', /^\/v1\/subscriptions\/([\w-]+)$/, (_, match) => {
      const subscription = this.subscriptions.get(match[1]);
      return subscription ? { body: subscription } : notFound('subscription', match[1]);
    }],
    ['POST', /^\/v1\/subscriptions\/([\w-]+)$/, ({ params }, match) => {
      const subscription = this.subscriptions.get(match[1]);
      if (!subscription) return notFound('subscription', match[1]);
      return this.updateSubscription(subscription, params);
    }],
    ['POST', /^\/v1\/billing_portal\/sessions$/, ({ params }) => {
      if (!this.customers.has(params.customer)) return notFound('customer', params.customer);
      const id = newId('bps');
      const session = { id, object: 'billing_portal.session', url: this.options.hostedPages ? `${this.pagesUrl}/portal/${id}` : `https://billing.stripe.test/p/session/${params.customer}`, customer: params.customer, return_url: params.return_url ?? null, created: now() };
      this.portalSessions.set(id, session);
      return { body: session };
    }],
  ];

  /** A subscription as Stripe would hold it after a subscription checkout. */
  createSubscription(options: {
    customer: string;
    price: any;
    accountId: string;
    start: Date;
    end: Date;
    /** Where Stripe aligns the monthly cycle: the start unless a trial or an anchor moved it. */
    billingCycleAnchor?: Date;
  }): any {
    const subscription = {
      id: newId('sub'),
      object: 'subscription',
      customer: options.customer,
      status: 'active',
      billing_cycle_anchor: Math.floor((options.billingCycleAnchor ?? options.start).getTime() / 1000),
      billing_mode: { type: 'flexible', flexible: { proration_discounts: 'included' }, updated_at: now() },
      cancel_at: null as number | null,
      cancel_at_period_end: false,
      pending_update: null as any,
      metadata: { accountId: options.accountId },
      items: {
        object: 'list',
        data: [
          {
            id: newId('si'),
            object: 'subscription_item',
            price: options.price,
            quantity: 1,
            current_period_start: Math.floor(options.start.getTime() / 1000),
            current_period_end: Math.floor(options.end.getTime() / 1000),
          },
        ],
      },
      created: now(),
      latest_invoice: null as string | null,
    };
    this.subscriptions.set(subscription.id, subscription);
    subscription.latest_invoice = this.payInvoice(subscription, 'subscription_create').id;
    return subscription;
  }

  /**
   * An invoice of a subscription for its current period, and the invoice payment that paid it; with `declined`, an
   * open invoice whose card payment was declined.
   */
  payInvoice(subscription: any, billingReason: string, declined = false): any {
    const item = subscription.items.data[0];
    const id = newId('in');
    const amount = item.price.unit_amount;
    const invoice = {
      id,
      object: 'invoice',
      customer: subscription.customer,
      status: declined ? 'open' : 'paid',
      billing_reason: billingReason,
      amount_due: amount,
      amount_paid: declined ? 0 : amount,
      amount_remaining: declined ? amount : 0,
      attempt_count: 1,
      currency: item.price.currency,
      hosted_invoice_url: this.invoiceUrl(id),
      parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id, metadata: subscription.metadata } },
      lines: {
        object: 'list',
        has_more: false,
        data: [periodInvoiceLine(id, subscription, amount)],
      },
      period_start: item.current_period_start,
      period_end: item.current_period_end,
      created: now(),
    };
    this.invoices.set(invoice.id, invoice);
    const intent = newId('pi');
    const payment = {
      id: newId('inpay'),
      object: 'invoice_payment',
      invoice: invoice.id,
      status: declined ? 'open' : 'paid',
      amount_paid: declined ? null : amount,
      amount_requested: amount,
      currency: invoice.currency,
      is_default: true,
      payment: { type: 'payment_intent', payment_intent: intent },
    };
    this.invoicePayments.set(payment.id, payment);
    this.paymentIntents.set(intent, {
      id: intent,
      object: 'payment_intent',
      amount,
      currency: invoice.currency,
      customer: subscription.customer,
      description: `Subscription ${this.priceName(item.price)}`,
      metadata: {},
      status: declined ? 'requires_payment_method' : 'succeeded',
      last_payment_error: declined ? CARD_DECLINED : null,
      created: now(),
    });
    return invoice;
  }

  /**
   * The customer finishing a Checkout Session, as Stripe completes it: a subscription session gets its subscription
   * (with its first invoice paid). Returns the session as `checkout.session.completed` carries it.
   */
  completeCheckout(sessionId: string, overrides: Record<string, any> = {}): any {
    const session = this.sessions.get(sessionId);
    if (!session || session.status !== 'open') throw new Error(`Checkout session ${sessionId} is not open`);
    if (session.mode === 'subscription') {
      const price = this.prices.get(session.line_items[0].price);
      const start = new Date();
      const end = new Date(start);
      end.setUTCMonth(end.getUTCMonth() + 1);
      const subscription = this.createSubscription({ customer: session.customer, price, accountId: session.metadata.accountId, start, end });
      subscription.metadata = { ...subscription.metadata, ...session.subscription_data?.metadata };
      session.subscription = subscription.id;
      session.invoice = subscription.latest_invoice;
    }
    Object.assign(session, { status: 'complete', payment_status: 'paid', url: null, ...overrides });
    return session;
  }

  /** The next invoice payment attempted here is declined, or waits for the customer to authenticate (3-D Secure). */
  failNextPayment(failure: PaymentFailure): void {
    this.paymentOutcomes.push(failure);
  }

  /**
   * POST /v1/subscriptions/:id as Stripe answers it at this API version (flexible billing mode): a price change
   * with `proration_behavior=always_invoice` bills the prorations at once; with `payment_behavior=pending_if_incomplete`
   * an unpaid invoice leaves the change as `pending_update` (only the parameters pending updates support are
   * accepted), otherwise the change applies and an unpaid subscription is past due. Lifting
   * `cancel_at_period_end` leaves a `cancel_at` scheduled by other means (the Customer Portal) in place.
   */
  private updateSubscription(subscription: any, params: Record<string, any>): { status?: number; body: any } {
    const pendingIfIncomplete = params.payment_behavior === 'pending_if_incomplete';
    const unsupported = Object.keys(params).filter((key) => !PENDING_UPDATE_PARAMETERS.has(key));
    if (pendingIfIncomplete && unsupported.length > 0) {
      return {
        status: 400,
        body: stripeError('invalid_request_error', `Pending updates do not support these parameters: ${unsupported.join(', ')}.`),
      };
    }
    if (params.cancel_at !== undefined && params.cancel_at_period_end !== undefined) {
      return { status: 400, body: stripeError('invalid_request_error', 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.') };
    }
    const changes: Array<{ item: any; price: any }> = [];
    for (const requested of params.items ?? []) {
      const item = subscription.items.data.find((candidate: any) => candidate.id === requested.id);
      const price = this.prices.get(requested.price);
      if (!item || !price) return { status: 400, body: stripeError('invalid_request_error', 'No such item or price') };
      if (item.price.id !== price.id) changes.push({ item, price });
    }
    const periodEnd = subscription.items.data[0].current_period_end;
    if (params.cancel_at !== undefined) {
      subscription.cancel_at = params.cancel_at === '' ? null : Number(params.cancel_at);
      subscription.cancel_at_period_end = false;
    }
    if (params.cancel_at_period_end !== undefined) {
      const cancel = params.cancel_at_period_end === 'true';
      if (cancel) subscription.cancel_at = periodEnd;
      else if (subscription.cancel_at_period_end) subscription.cancel_at = null;
      subscription.cancel_at_period_end = cancel;
    }
    if (params.metadata) subscription.metadata = { ...subscription.metadata, ...params.metadata };

    const apply = () => changes.forEach(({ item, price }) => (item.price = price));
    let invoice: any = null;
    if (changes.length > 0 && params.proration_behavior === 'always_invoice') {
      invoice = this.prorationInvoice(subscription, changes);
      subscription.latest_invoice = invoice.id;
      if (this.attemptPayment(invoice)) {
        apply();
      } else if (pendingIfIncomplete) {
        subscription.pending_update = {
          billing_cycle_anchor: null,
          expires_at: now() + 23 * 3600,
          subscription_items: changes.map(({ item, price }) => ({ ...item, price })),
          trial_end: null,
          trial_from_plan: null,
        };
      } else {
        apply();
        subscription.status = 'past_due';
      }
    } else {
      apply();
    }
    const changed = ['items', 'cancel_at', 'cancel_at_period_end', 'metadata'].some((key) => params[key] !== undefined);
    if (changed) this.emit('customer.subscription.updated', subscription);
    if (invoice) this.emit(invoice.status === 'paid' ? 'invoice.paid' : 'invoice.payment_failed', invoice);
    const expandInvoice = (params.expand ?? []).includes('latest_invoice') && subscription.latest_invoice;
    return { body: expandInvoice ? { ...subscription, latest_invoice: this.invoices.get(subscription.latest_invoice) } : subscription };
  }

  /** The invoice of a mid-period price change: a credit for the old price's unused time and a debit for the new one's. */
  private prorationInvoice(subscription: any, changes: Array<{ item: any; price: any }>): any {
    const at = now();
    const id = newId('in');
    const lines = changes.flatMap(({ item, price }) => {
      const left = (item.current_period_end - at) / (item.current_period_end - item.current_period_start);
      const line = (linePrice: any, sign: number) => ({
        id: newId('il'),
        object: 'line_item',
        amount: sign * Math.round(linePrice.unit_amount * left),
        currency: linePrice.currency,
        invoice: id,
        period: { start: at, end: item.current_period_end },
        parent: {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: newId('ii'),
            proration: true,
            proration_details: { credited_items: null },
            subscription: subscription.id,
            subscription_item: item.id,
          },
        },
        pricing: { type: 'price_details', price_details: { price: linePrice.id, product: linePrice.product }, unit_amount_decimal: null },
      });
      return [line(item.price, -1), line(price, 1)];
    });
    const total = lines.reduce((sum, line) => sum + line.amount, 0);
    const invoice = {
      id,
      object: 'invoice',
      customer: subscription.customer,
      status: 'open',
      billing_reason: 'subscription_update',
      amount_due: total,
      amount_paid: 0,
      amount_remaining: total,
      currency: lines[0].currency,
      hosted_invoice_url: this.invoiceUrl(id),
      parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id, metadata: subscription.metadata } },
      lines: { object: 'list', data: lines, has_more: false },
      period_start: at,
      period_end: at,
      created: at,
    };
    this.invoices.set(id, invoice);
    return invoice;
  }

  /** Charges an open invoice through a PaymentIntent, as queued by failNextPayment; true when it is paid. */
  private attemptPayment(invoice: any): boolean {
    const failure = this.paymentOutcomes.shift();
    const intent = {
      id: newId('pi'),
      object: 'payment_intent',
      amount: invoice.amount_due,
      currency: invoice.currency,
      status: failure === 'requires_action' ? 'requires_action' : failure ? 'requires_payment_method' : 'succeeded',
      last_payment_error: failure === 'card_declined' ? CARD_DECLINED : null,
    };
    this.paymentIntents.set(intent.id, intent);
    const paymentId = newId('inpay');
    this.invoicePayments.set(paymentId, {
      id: paymentId,
      object: 'invoice_payment',
      invoice: invoice.id,
      status: failure ? 'open' : 'paid',
      amount_paid: failure ? null : invoice.amount_due,
      amount_requested: invoice.amount_due,
      currency: invoice.currency,
      is_default: true,
      payment: { type: 'payment_intent', payment_intent: intent.id },
    });
    if (!failure) Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0 });
    return !failure;
  }

  /**
   * The customer paying an open invoice on its hosted page: the invoice is paid and a pending update waiting for it
   * applies. Returns the invoice and its subscription as Stripe's events then carry them.
   */
  payOpenInvoice(invoiceId: string): { invoice: any; subscription: any } {
    const invoice = this.invoices.get(invoiceId);
    if (!invoice || invoice.status !== 'open') throw new Error(`Invoice ${invoiceId} is not open`);
    Object.assign(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0 });
    for (const payment of this.invoicePayments.values()) {
      if (payment.invoice !== invoiceId) continue;
      Object.assign(payment, { status: 'paid', amount_paid: invoice.amount_due });
      const intent = this.paymentIntents.get(payment.payment.payment_intent);
      if (intent) Object.assign(intent, { status: 'succeeded', last_payment_error: null });
    }
    const subscription = this.subscriptions.get(invoice.parent.subscription_details.subscription);
    if (subscription?.pending_update && subscription.latest_invoice === invoiceId) {
      for (const pending of subscription.pending_update.subscription_items) {
        subscription.items.data.find((item: any) => item.id === pending.id).price = pending.price;
      }
      subscription.pending_update = null;
    }
    return { invoice, subscription };
  }

  /** Queues an event for the webhook endpoint, as the object is now; nothing without one. */
  private emit(type: string, object: any): void {
    if (!this.delivery) return;
    this.delivery.send(stripeEvent(type, structuredClone(object), { created: now() }));
  }

  private invoiceUrl(id: string): string {
    return this.options.hostedPages ? `${this.pagesUrl}/invoice/${id}` : `https://invoice.stripe.test/i/${id}`;
  }

  private priceName(price: any): string {
    return this.products.get(price?.product)?.name ?? price?.lookup_key ?? price?.id ?? 'item';
  }

  private endSubscription(subscription: any): void {
    Object.assign(subscription, { status: 'canceled', canceled_at: now(), ended_at: now() });
    this.failingRenewals.delete(subscription.id);
    this.emit('customer.subscription.deleted', subscription);
  }

  /**
   * A refund of a payment (all that is left of it unless `amount` is given), as POST /v1/refunds makes it; its
   * charge then reports everything refunded so far.
   */
  refund(paymentIntentId: string, amount?: number, reason: string | null = null, metadata: Record<string, any> = {}): { status?: number; body: any } {
    const payment = [...this.invoicePayments.values()].find((candidate) => candidate.payment.payment_intent === paymentIntentId);
    const intent = this.paymentIntents.get(paymentIntentId);
    const paid = payment?.amount_paid ?? intent?.amount ?? amount ?? 0;
    const refunded = this.refundedOf(paymentIntentId);
    if (refunded >= paid) {
      return { status: 400, body: stripeError('invalid_request_error', 'Charge has already been refunded.', 'charge_already_refunded') };
    }
    const refund = {
      id: newId('re'),
      object: 'refund',
      amount: amount ?? paid - refunded,
      charge: intent?.latest_charge ?? null,
      currency: payment?.currency ?? intent?.currency ?? 'usd',
      payment_intent: paymentIntentId,
      reason,
      metadata,
      status: 'succeeded',
      created: now(),
    };
    this.refunds.set(refund.id, refund);
    if (intent) {
      this.emit('refund.created', refund);
      this.emit('charge.refunded', this.chargeOf(intent));
    }
    return { body: refund };
  }

  private refundedOf(paymentIntentId: string): number {
    return [...this.refunds.values()]
      .filter((refund) => refund.payment_intent === paymentIntentId)
      .reduce((sum, refund) => sum + refund.amount, 0);
  }

  /** The charge of a succeeded payment intent, as charge events carry it. */
  private chargeOf(intent: any): any {
    intent.latest_charge ??= newId('ch');
    const refunded = this.refundedOf(intent.id);
    return {
      id: intent.latest_charge,
      object: 'charge',
      amount: intent.amount,
      amount_captured: intent.amount,
      amount_refunded: refunded,
      captured: true,
      currency: intent.currency,
      customer: intent.customer ?? null,
      description: intent.description ?? null,
      disputed: this.isDisputed(intent.id),
      metadata: intent.metadata ?? {},
      paid: true,
      payment_intent: intent.id,
      refunded: refunded >= intent.amount,
      status: 'succeeded',
      created: intent.created ?? now(),
    };
  }

  /** A dispute of the whole payment, opened by the cardholder's bank. */
  dispute(paymentIntentId: string): any {
    const intent = this.paymentIntents.get(paymentIntentId);
    if (!intent || intent.status !== 'succeeded') throw new Error(`Payment ${paymentIntentId} cannot be disputed`);
    const charge = this.chargeOf(intent);
    const dispute = {
      id: newId('dp'),
      object: 'dispute',
      amount: intent.amount,
      charge: charge.id,
      currency: intent.currency,
      payment_intent: intent.id,
      reason: 'fraudulent',
      status: 'needs_response',
      metadata: {},
      created: now(),
    };
    this.disputes.set(dispute.id, dispute);
    this.emit('charge.dispute.created', dispute);
    return dispute;
  }

  /**
   * The customer paying on the hosted checkout page: the session completes (a subscription session with its
   * subscription and first paid invoice) and Stripe's events follow, checkout.session.completed last.
   */
  payCheckout(sessionId: string): any {
    const session = this.sessions.get(sessionId);
    if (!session || session.status !== 'open') throw new Error(`Checkout session ${sessionId} is not open`);
    if (session.mode === 'payment') {
      const metadata = session.payment_intent_data?.metadata ?? {};
      const price = this.prices.get(session.line_items?.[0]?.price);
      const intent = {
        id: session.payment_intent,
        object: 'payment_intent',
        amount: session.amount_total,
        amount_received: session.amount_total,
        currency: session.currency,
        customer: session.customer,
        description: this.priceName(price),
        metadata,
        status: 'succeeded',
        last_payment_error: null,
        latest_charge: newId('ch'),
        created: now(),
      };
      this.paymentIntents.set(intent.id, intent);
      this.completeCheckout(sessionId);
      this.emit('payment_intent.succeeded', intent);
      this.emit('charge.succeeded', this.chargeOf(intent));
    } else {
      this.completeCheckout(sessionId);
      const subscription = this.subscriptions.get(session.subscription);
      this.emit('customer.subscription.created', subscription);
      this.emit('invoice.paid', this.invoices.get(subscription.latest_invoice));
    }
    this.emit('checkout.session.completed', session);
    return session;
  }

  /** A card declined on the hosted checkout page: the session stays open, and a payment session's intent failed. */
  /** An answer kept for replays of its idempotency key: the newest IDEMPOTENT_ANSWERS of them. */
  private remember(key: string, answer: { status: number; body: any }): void {
    this.idempotent.set(key, answer);
    if (this.idempotent.size > IDEMPOTENT_ANSWERS) this.idempotent.delete(this.idempotent.keys().next().value!);
  }

  private isDisputed(paymentIntentId: string): boolean {
    return [...this.disputes.values()].some((dispute) => dispute.payment_intent === paymentIntentId);
  }

  declineCheckout(sessionId: string, code: 'card_declined' | 'authentication_failed'): void {
    const session = this.sessions.get(sessionId);
    if (!session || session.status !== 'open' || session.mode !== 'payment') return;
    const error = code === 'card_declined'
      ? { ...CARD_DECLINED, message: 'Your card was declined.' }
      : { type: 'card_error', code: 'payment_intent_authentication_failure', message: 'The authentication of this payment failed.' };
    this.emit('payment_intent.payment_failed', {
      id: session.payment_intent,
      object: 'payment_intent',
      amount: session.amount_total,
      currency: session.currency,
      customer: session.customer,
      metadata: session.payment_intent_data?.metadata ?? {},
      status: 'requires_payment_method',
      last_payment_error: error,
      created: now(),
    });
  }

  /**
   * The subscription's next period begins now (as if its renewal date had come): the period moves on a month and
   * its subscription_cycle invoice is paid, or declined when the admin panel asked for it (the subscription is then
   * past due).
   */
  renew(subscriptionId: string): any {
    const subscription = this.subscriptions.get(subscriptionId);
    if (!subscription || subscription.status === 'canceled') throw new Error(`Subscription ${subscriptionId} cannot renew`);
    const item = subscription.items.data[0];
    if (subscription.cancel_at_period_end || (subscription.cancel_at && subscription.cancel_at <= item.current_period_end)) {
      this.endSubscription(subscription);
      return subscription;
    }
    const start = new Date(item.current_period_end * 1000);
    const end = new Date(start);
    end.setUTCMonth(end.getUTCMonth() + 1);
    item.current_period_start = Math.floor(start.getTime() / 1000);
    item.current_period_end = Math.floor(end.getTime() / 1000);
    const declined = this.failingRenewals.delete(subscriptionId);
    const invoice = this.payInvoice(subscription, 'subscription_cycle', declined);
    subscription.latest_invoice = invoice.id;
    subscription.status = declined ? 'past_due' : 'active';
    this.emit('customer.subscription.updated', subscription);
    this.emit(declined ? 'invoice.payment_failed' : 'invoice.paid', invoice);
    return subscription;
  }

  failNextRenewal(subscriptionId: string): void {
    this.failingRenewals.add(subscriptionId);
  }

  cancelNow(subscriptionId: string): void {
    const subscription = this.subscriptions.get(subscriptionId);
    if (subscription && subscription.status !== 'canceled') this.endSubscription(subscription);
  }

  private readonly pages: Array<[string, RegExp, PageHandler]> = [
    ['GET', /^\/$/, () => ({ html: adminPage(this.adminView()) })],
    ['GET', /^\/checkout\/([\w-]+)$/, (_, match) => this.checkoutStep(match[1], (view) => checkoutPage(view))],
    ['POST', /^\/checkout\/([\w-]+)\/(pay|authenticate)$/, (_, match) => {
      const session = this.sessions.get(match[1]);
      if (!session || session.status !== 'open') return this.checkoutStep(match[1], checkoutPage);
      this.payCheckout(session.id);
      return { redirect: String(session.success_url ?? '/').replace('{CHECKOUT_SESSION_ID}', session.id) };
    }],
    ['POST', /^\/checkout\/([\w-]+)\/3ds$/, (_, match) => this.checkoutStep(match[1], authenticationPage)],
    ['POST', /^\/checkout\/([\w-]+)\/decline$/, (_, match) => {
      this.declineCheckout(match[1], 'card_declined');
      return this.checkoutStep(match[1], (view) => declinedPage(view, 'Your card was declined.'), 402);
    }],
    ['POST', /^\/checkout\/([\w-]+)\/fail-authentication$/, (_, match) => {
      this.declineCheckout(match[1], 'authentication_failed');
      return this.checkoutStep(match[1], (view) => declinedPage(view, 'The authentication of this payment failed.'), 402);
    }],
    ['GET', /^\/invoice\/([\w-]+)$/, (_, match) => {
      const invoice = this.invoices.get(match[1]);
      if (!invoice) return { status: 404, html: notFoundPage('Invoice') };
      const description = invoice.billing_reason === 'subscription_update' ? 'Plan change (prorated)' : 'Subscription';
      return { html: invoicePage({ id: invoice.id, status: invoice.status, amountCents: invoice.amount_due, currency: invoice.currency, description }) };
    }],
    ['POST', /^\/invoice\/([\w-]+)\/pay$/, (_, match) => {
      const invoice = this.invoices.get(match[1]);
      if (invoice?.status === 'open') {
        const { subscription } = this.payOpenInvoice(invoice.id);
        if (subscription?.status === 'past_due' && subscription.latest_invoice === invoice.id) subscription.status = 'active';
        this.emit('invoice.paid', invoice);
        if (subscription) this.emit('customer.subscription.updated', subscription);
      }
      return { redirect: `/invoice/${match[1]}` };
    }],
    ['GET', /^\/portal\/([\w-]+)$/, (_, match) => {
      const session = this.portalSessions.get(match[1]);
      if (!session) return { status: 404, html: notFoundPage('Portal session') };
      const subscriptions = this.subscriptionViews().filter((view) => view.customer === session.customer && view.status !== 'canceled');
      return { html: portalPage({ id: session.id, customer: session.customer, returnUrl: session.return_url, subscriptions }) };
    }],
    ['POST', /^\/portal\/([\w-]+)\/cancel$/, (params, match) => {
      const session = this.portalSessions.get(match[1]);
      const subscription = this.subscriptions.get(params.subscription);
      if (session && subscription?.customer === session.customer && subscription.status !== 'canceled') {
        // The portal schedules the cancellation with cancel_at in flexible billing mode.
        Object.assign(subscription, { cancel_at: subscription.items.data[0].current_period_end, cancel_at_period_end: false });
        this.emit('customer.subscription.updated', subscription);
      }
      return { redirect: `/portal/${match[1]}` };
    }],
    ['POST', /^\/admin\/payments\/([\w-]+)\/refund$/, (params, match) => {
      const intent = this.paymentIntents.get(match[1]);
      if (intent?.status === 'succeeded') {
        const left = intent.amount - this.refundedOf(intent.id);
        const amount = params.portion === 'half' ? Math.min(left, Math.ceil(intent.amount / 2)) : left;
        if (amount > 0) this.refund(intent.id, amount, 'requested_by_customer');
      }
      return { redirect: '/' };
    }],
    ['POST', /^\/admin\/payments\/([\w-]+)\/dispute$/, (_, match) => {
      if (this.paymentIntents.get(match[1])?.status === 'succeeded') this.dispute(match[1]);
      return { redirect: '/' };
    }],
    ['POST', /^\/admin\/subscriptions\/([\w-]+)\/renew$/, (_, match) => {
      if (this.subscriptions.get(match[1])?.status !== 'canceled') this.renew(match[1]);
      return { redirect: '/' };
    }],
    ['POST', /^\/admin\/subscriptions\/([\w-]+)\/fail-next-renewal$/, (_, match) => {
      this.failNextRenewal(match[1]);
      return { redirect: '/' };
    }],
    ['POST', /^\/admin\/subscriptions\/([\w-]+)\/cancel$/, (_, match) => {
      this.cancelNow(match[1]);
      return { redirect: '/' };
    }],
  ];

  private checkoutStep(sessionId: string, render: (view: CheckoutView) => string, status = 200): PageAnswer {
    const session = this.sessions.get(sessionId);
    if (!session) return { status: 404, html: notFoundPage('Checkout session') };
    if (session.status !== 'open') {
      const back = session.status === 'complete' ? String(session.success_url ?? '').replace('{CHECKOUT_SESSION_ID}', session.id) : session.cancel_url;
      return { status: 410, html: closedCheckoutPage(session.id, session.status, back || null) };
    }
    const price = this.prices.get(session.line_items?.[0]?.price);
    return {
      status,
      html: render({
        id: session.id,
        mode: session.mode,
        itemName: this.priceName(price),
        amountCents: session.amount_total ?? 0,
        currency: session.currency ?? 'usd',
        cancelUrl: session.cancel_url ?? null,
      }),
    };
  }

  private accountOf(customer: string): string {
    return this.customers.get(customer)?.metadata?.accountId ?? '';
  }

  private subscriptionViews(): SubscriptionView[] {
    return [...this.subscriptions.values()].reverse().map((subscription) => {
      const item = subscription.items.data[0];
      return {
        id: subscription.id,
        customer: subscription.customer,
        accountId: subscription.metadata?.accountId ?? this.accountOf(subscription.customer),
        plan: this.priceName(item.price),
        status: subscription.status,
        periodStart: new Date(item.current_period_start * 1000),
        periodEnd: new Date(item.current_period_end * 1000),
        cancelAtPeriodEnd: Boolean(subscription.cancel_at_period_end || subscription.cancel_at),
        failNextRenewal: this.failingRenewals.has(subscription.id),
      };
    });
  }

  private adminView() {
    const payments: PaymentView[] = [...this.paymentIntents.values()]
      .filter((intent) => intent.status === 'succeeded')
      .reverse()
      .map((intent) => ({
        id: intent.id,
        customer: intent.customer ?? '',
        accountId: intent.metadata?.accountId ?? this.accountOf(intent.customer),
        description: intent.description ?? '',
        amountCents: intent.amount,
        refundedCents: this.refundedOf(intent.id),
        currency: intent.currency,
        disputed: this.isDisputed(intent.id),
        created: new Date((intent.created ?? now()) * 1000),
      }));
    return {
      webhookUrl: this.delivery?.url ?? null,
      payments,
      subscriptions: this.subscriptionViews(),
      deliveries: this.delivery?.recent ?? [],
    };
  }

  private page(method: string, path: string, params: Record<string, any>, res: http.ServerResponse): void {
    const security = {
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    };
    for (const [pageMethod, pattern, handler] of this.pages) {
      const match = pattern.exec(path);
      if (pageMethod !== method || !match) continue;
      const answer = handler(params, match);
      if (answer.redirect) {
        res.writeHead(303, { ...security, location: answer.redirect });
        res.end();
        return;
      }
      res.writeHead(answer.status ?? 200, { ...security, 'content-type': 'text/html; charset=utf-8' });
      res.end(answer.html);
      return;
    }
    res.writeHead(404, { ...security, 'content-type': 'text/html; charset=utf-8' });
    res.end(notFoundPage('Page'));
  }

  private withPaymentIntent(payment: any): any {
    const id = payment.payment.payment_intent;
    const intent = this.paymentIntents.get(id) ?? { id, object: 'payment_intent', status: 'succeeded' };
    return { ...payment, payment: { ...payment.payment, payment_intent: intent } };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const [path, query = ''] = (req.url ?? '').split('?');
    const body = Buffer.concat(chunks).toString('utf8');
    const params = qs.parse(req.method === 'GET' || req.method === 'DELETE' ? query : body, { depth: 10, arrayLimit: 100 });
    if (!path.startsWith('/v1/')) {
      try {
        return this.page(req.method ?? 'GET', path, params, res);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end((error as Error).message);
        return;
      }
    }
    const request: RecordedRequest = { method: req.method ?? 'GET', path, params, headers: req.headers };
    if (this.options.record !== false) this.requests.push(request);

    const answer = (status: number, payload: any) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
      res.end(JSON.stringify(payload));
    };

    if (req.headers['stripe-version'] !== STRIPE_API_VERSION || req.headers.authorization !== `Bearer ${this.secretKey}`) {
      this.rejected.push(request);
      return answer(401, stripeError('invalid_request_error', 'Wrong API version or key'));
    }
    const key = typeof req.headers['idempotency-key'] === 'string' ? `${req.method} ${path} ${req.headers['idempotency-key']}` : null;
    if (key && this.inFlight.has(key)) return answer(409, idempotencyKeyInUse());
    if (key) this.inFlight.add(key);
    try {
      const fault = this.faults.find((candidate) => candidate.times > 0 && candidate.pattern.test(path));
      if (fault) {
        fault.times--;
        if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        if (fault.status === 409) return answer(409, idempotencyKeyInUse());
        if (fault.status) return answer(fault.status, stripeError('api_error', 'Something went wrong on Stripe'));
        if (res.destroyed) return;
      }
      const replay = key ? this.idempotent.get(key) : undefined;
      if (replay) return answer(replay.status, replay.body);

      for (const [method, pattern, handler] of this.routes) {
        const match = pattern.exec(path);
        if (method !== req.method || !match) continue;
        const { status = 200, body: payload } = handler(request, match);
        if (key && status < 500) this.remember(key, { status, body: payload });
        return answer(status, payload);
      }
      answer(404, stripeError('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`));
    } finally {
      if (key) this.inFlight.delete(key);
    }
  }
}

type PaymentFailure = 'card_declined' | 'requires_action';

/** What a subscription update with `payment_behavior=pending_if_incomplete` may carry (Stripe's pending updates). */
const PENDING_UPDATE_PARAMETERS = new Set([
  'expand',
  'payment_behavior',
  'proration_behavior',
  'proration_date',
  'billing_cycle_anchor',
  'items',
  'trial_end',
  'trial_from_plan',
  'add_invoice_items',
]);

function stripeError(type: string, message: string, code?: string) {
  return { error: { type, message, ...(code && { code }) } };
}

/** Stripe's answer to a request whose idempotency key another request is still using. */
function idempotencyKeyInUse() {
  return stripeError(
    'invalid_request_error',
    'There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later.',
    'idempotency_key_in_use',
  );
}

function notFound(kind: string, id: string) {
  return { status: 404, body: stripeError('invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing') };
}
