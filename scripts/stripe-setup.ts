/**
 * Creates the Stripe products and prices of the catalog, found by lookup key: `npm run stripe:setup`.
 * Idempotent: a second run creates nothing. Needs STRIPE_SECRET_KEY (and STRIPE_API_BASE for a local server).
 */
import { DataSource } from 'typeorm';
import { createStripeClient } from '../src/billing/stripe/stripe.client';
import { syncStripeCatalog } from '../src/billing/stripe/stripe-catalog';
import { databaseOptions } from '../src/database/database.options';
import { CreditPackageEntity } from '../src/plans/entities/credit-package.entity';
import { PlanEntity } from '../src/plans/entities/plan.entity';
import { runScript, scriptDatabase } from './database';

async function main(): Promise<number> {
  const { config, database } = await scriptDatabase();
  const stripe = createStripeClient(config);
  if (!stripe) {
    process.stderr.write('STRIPE_SECRET_KEY is not set.\n');
    return 2;
  }
  const dataSource = new DataSource({ ...databaseOptions(database.url, 2), entities: [PlanEntity, CreditPackageEntity] });
  await dataSource.initialize();
  try {
    const results = await syncStripeCatalog(
      stripe,
      await dataSource.getRepository(PlanEntity).find({ order: { rank: 'ASC' } }),
      await dataSource.getRepository(CreditPackageEntity).find({ where: { active: true }, order: { sortOrder: 'ASC' } }),
    );
    for (const result of results) {
      process.stdout.write(`${result.created ? 'created' : 'exists '}  ${result.lookupKey.padEnd(24)} ${result.priceId}\n`);
    }
    return 0;
  } finally {
    await dataSource.destroy();
    await database.embedded?.stop();
  }
}

runScript(main);
