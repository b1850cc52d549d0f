/**
 * Creates the Stripe products and prices of the catalog, found by lookup key: `npm run stripe:setup`.
 * Idempotent: a second run creates nothing. Needs STRIPE_SECRET_KEY (and STRIPE_API_BASE for a local server).
 */
import Stripe from 'stripe';
import { createStripeClient } from '../src/billing/stripe/stripe.client';
import { syncStripeCatalog } from '../src/billing/stripe/stripe-catalog';
import { loadConfig } from '../src/config/app-config';
import { CreditPackageEntity } from '../src/plans/entities/credit-package.entity';
import { PlanEntity } from '../src/plans/entities/plan.entity';
import { runScript, ScriptFailure, UsageError } from './cli';
import { withDataSource, withScriptDatabase } from './database';

runScript(
  {
    name: 'stripe:setup',
    usage: 'npm run stripe:setup',
    help: `
Creates the Stripe products and prices of the catalog (the plans and the active credit packages of the database),
each found by its lookup key (credits_<package>, plan_<plan>_monthly): a second run creates nothing. Needs
STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET; STRIPE_API_BASE points it at another Stripe API address.

Exit codes: 0 done, 1 the database or Stripe cannot be reached (or Stripe refuses the key), 2 bad usage or
configuration (no STRIPE_SECRET_KEY, say).`,
  },
  async () => {
    const config = loadConfig();
    const stripe = createStripeClient(config);
    if (!stripe) throw new UsageError('STRIPE_SECRET_KEY is not set');
    await withScriptDatabase(config, (database) =>
      withDataSource(database, [PlanEntity, CreditPackageEntity], async (dataSource) => {
        const plans = await dataSource.getRepository(PlanEntity).find({ order: { rank: 'ASC' } });
        const packages = await dataSource
          .getRepository(CreditPackageEntity)
          .find({ where: { active: true }, order: { sortOrder: 'ASC' } });
        const results = await syncStripeCatalog(stripe, plans, packages).catch((error: unknown) => {
          // A wrong key, a refused request or an unreachable API: Stripe's own message says which.
          throw error instanceof Stripe.errors.StripeError ? new ScriptFailure(`Stripe: ${error.message}`) : error;
        });
        for (const result of results) {
          process.stdout.write(`${result.created ? 'created' : 'exists '}  ${result.lookupKey.padEnd(24)} ${result.priceId}\n`);
        }
      }),
    );
  },
);
