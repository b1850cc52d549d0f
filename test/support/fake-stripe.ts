import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import { STRIPE_API_VERSION } from '../../src/billing/stripe/stripe.client';

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, any>;
  headers: http.IncomingHttpHeaders;
}

type Handler = (request: RecordedRequest, match: RegExpExecArray) => { status?: number; body: any };

const newId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

/**
 * A local Stripe-compatible HTTP server for tests: the real `stripe` SDK talks to it through STRIPE_API_BASE. It
 * checks what it receives (path, form-encoded parameters, API version, key), keeps the objects it creates and
 * answers with objects shaped like Stripe's. Faults can be injected per path.
 */
export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly prices = new Map<string, any>();
  readonly products = new Map<string, any>();
  readonly customers = new Map<string, any>();
  readonly sessions = new Map<string, any>();
  readonly subscriptions = new Map<string, any>();
  /** Requests refused because of a wrong API version or key; a test expects this to stay empty. */
  readonly rejected: RecordedRequest[] = [];
  private readonly faults: Array<{ pattern: RegExp; status?: number; delayMs?: number; times: number }> = [];
  private readonly idempotent = new Map<string, { status: number; body: any }>();
  private server!: http.Server;
  url = '';

  constructor(readonly secretKey = 'sk_test_fake') {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` requests whose path matches answer `status` (a Stripe API error), or hang for `delayMs`. */
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
      const session = {
        id,
        object: 'checkout.session',
        mode: params.mode,
        url: `https://checkout.stripe.test/c/pay/${id}`,
        customer: params.customer ?? null,
        client_reference_id: params.client_reference_id ?? null,
        metadata: params.metadata ?? {},
        payment_intent: paymentIntent,
        payment_status: 'unpaid',
        status: 'open',
        success_url: params.success_url,
        cancel_url: params.cancel_url,
        line_items: params.line_items,
        payment_intent_data: params.payment_intent_data,
        subscription_data: params.subscription_data,
      };
      this.sessions.set(id, session);
      return { body: session };
    }],
    ['GET', /^\/v1\/subscriptions\/([\w-]+)$/, (_, match) => {
      const subscription = this.subscriptions.get(match[1]);
      return subscription ? { body: subscription } : notFound('subscription', match[1]);
    }],
    ['POST', /^\/v1\/subscriptions\/([\w-]+)$/, ({ params }, match) => {
      const subscription = this.subscriptions.get(match[1]);
      if (!subscription) return notFound('subscription', match[1]);
      if (params.cancel_at_period_end !== undefined) {
        subscription.cancel_at_period_end = params.cancel_at_period_end === 'true';
      }
      if (params.metadata) subscription.metadata = { ...subscription.metadata, ...params.metadata };
      for (const item of params.items ?? []) {
        const existing = subscription.items.data.find((candidate: any) => candidate.id === item.id);
        const price = this.prices.get(item.price);
        if (!existing || !price) return { status: 400, body: stripeError('invalid_request_error', 'No such item or price') };
        existing.price = price;
      }
      return { body: subscription };
    }],
    ['POST', /^\/v1\/billing_portal\/sessions$/, ({ params }) => {
      if (!this.customers.has(params.customer)) return notFound('customer', params.customer);
      return {
        body: { id: newId('bps'), object: 'billing_portal.session', url: `https://billing.stripe.test/p/session/${params.customer}`, customer: params.customer, return_url: params.return_url },
      };
    }],
  ];

  /** A subscription as Stripe would hold it after a subscription checkout. */
  createSubscription(options: { customer: string; price: any; accountId: string; start: Date; end: Date }): any {
    const subscription = {
      id: newId('sub'),
      object: 'subscription',
      customer: options.customer,
      status: 'active',
      cancel_at_period_end: false,
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
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const [path, query = ''] = (req.url ?? '').split('?');
    const body = Buffer.concat(chunks).toString('utf8');
    const params = qs.parse(req.method === 'GET' || req.method === 'DELETE' ? query : body, { depth: 10, arrayLimit: 100 });
    const request: RecordedRequest = { method: req.method ?? 'GET', path, params, headers: req.headers };
    this.requests.push(request);

    const answer = (status: number, payload: any) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
      res.end(JSON.stringify(payload));
    };

    if (req.headers['stripe-version'] !== STRIPE_API_VERSION || req.headers.authorization !== `Bearer ${this.secretKey}`) {
      this.rejected.push(request);
      return answer(401, stripeError('invalid_request_error', 'Wrong API version or key'));
    }
    const fault = this.faults.find((candidate) => candidate.times > 0 && candidate.pattern.test(path));
    if (fault) {
      fault.times--;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.status) return answer(fault.status, stripeError('api_error', 'Something went wrong on Stripe'));
      if (res.destroyed) return;
    }
    const key = req.headers['idempotency-key'];
    const replay = typeof key === 'string' ? this.idempotent.get(`${req.method} ${path} ${key}`) : undefined;
    if (replay) return answer(replay.status, replay.body);

    for (const [method, pattern, handler] of this.routes) {
      const match = pattern.exec(path);
      if (method !== req.method || !match) continue;
      const { status = 200, body: payload } = handler(request, match);
      if (typeof key === 'string' && status < 500) this.idempotent.set(`${req.method} ${path} ${key}`, { status, body: payload });
      return answer(status, payload);
    }
    answer(404, stripeError('invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`));
  }
}

function stripeError(type: string, message: string, code?: string) {
  return { error: { type, message, ...(code && { code }) } };
}

function notFound(kind: string, id: string) {
  return { status: 404, body: stripeError('invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing') };
}
