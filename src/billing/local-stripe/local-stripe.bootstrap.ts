import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import type { PlansService } from '../../plans/plans.service';
import { createStripeClient } from '../stripe/stripe.client';
import { syncStripeCatalog } from '../stripe/stripe-catalog';
import type { LocalStripeServer } from './local-stripe.server';

export type LocalStripeMode = 'off' | 'on' | 'refused';

/**
 * Whether the service simulates payments with its local Stripe: by default only without a Stripe key and outside
 * production; LOCAL_STRIPE=true asks for it, which production refuses; LOCAL_STRIPE=false never.
 */
export function localStripeMode(config: Pick<AppConfig, 'NODE_ENV' | 'LOCAL_STRIPE' | 'STRIPE_SECRET_KEY'>): LocalStripeMode {
  if (config.NODE_ENV === 'production') return config.LOCAL_STRIPE === true ? 'refused' : 'off';
  if (config.LOCAL_STRIPE === false) return 'off';
  if (config.LOCAL_STRIPE === true) return 'on';
  return config.STRIPE_SECRET_KEY ? 'off' : 'on';
}

export const LOCAL_STRIPE_REFUSED =
  'Refusing to start: LOCAL_STRIPE=true simulates payments, which is never allowed with NODE_ENV=production ' +
  '(unset LOCAL_STRIPE and set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET).';

/** The local Stripe of a development server, and the configuration that points the service at it. */
export class LocalStripe {
  private constructor(
    readonly server: LocalStripeServer,
    private readonly webhookSecret: string,
  ) {}

  /** Starts the server and points `config` at it, with a key and a webhook secret of its own. */
  static async start(config: AppConfig): Promise<LocalStripe> {
    // Loaded only here: a service with a real Stripe never loads the stand-in.
    const { LocalStripeServer } = await import('./local-stripe.server');
    const key = `sk_test_local_${randomBytes(12).toString('hex')}`;
    const server = await new LocalStripeServer(key, { hostedPages: true, record: false }).start(config.LOCAL_STRIPE_PORT);
    const webhookSecret = `whsec_local_${randomBytes(16).toString('hex')}`;
    config.STRIPE_SECRET_KEY = server.secretKey;
    config.STRIPE_WEBHOOK_SECRET = webhookSecret;
    config.STRIPE_API_BASE = server.url;
    config.localStripeUrl = server.pagesUrl;
    return new LocalStripe(server, webhookSecret);
  }

  get url(): string {
    return this.server.pagesUrl;
  }

  /** Creates the catalog's products and prices, before the service answers anyone. */
  async syncCatalog(config: AppConfig, plans: PlansService): Promise<void> {
    await syncStripeCatalog(createStripeClient(config)!, await plans.listPlans(), await plans.listPackages());
  }

  /** Delivers its events to the service listening at `serviceUrl`. */
  deliverWebhooksTo(serviceUrl: string): void {
    this.server.deliverWebhooksTo(`${serviceUrl}/webhooks/stripe`, this.webhookSecret);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
