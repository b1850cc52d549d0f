import type Stripe from 'stripe';
import { CreditPackageEntity } from '../../plans/entities/credit-package.entity';
import { PlanEntity } from '../../plans/entities/plan.entity';

export interface CatalogSyncResult {
  lookupKey: string;
  priceId: string;
  created: boolean;
}

/**
 * Makes sure Stripe has a product and a price for every credit package (one-time, metadata `type: credit_package`,
 * `credits: N`) and every paid plan (monthly), found by lookup key. Safe to run any number of times: existing
 * prices are kept, products are created under the lookup key as their id, and every create carries an
 * idempotency key.
 */
export async function syncStripeCatalog(
  stripe: Stripe,
  plans: PlanEntity[],
  packages: CreditPackageEntity[],
): Promise<CatalogSyncResult[]> {
  const wanted = [
    ...packages.map((pack) => ({
      lookupKey: pack.stripeLookupKey,
      name: `${pack.name} credit package (${pack.credits} credits)`,
      unitAmount: pack.priceCents,
      currency: pack.currency,
      metadata: { type: 'credit_package', packageId: pack.id, credits: String(pack.credits) },
      recurring: undefined as Stripe.PriceCreateParams.Recurring | undefined,
    })),
    ...plans
      .filter((plan) => plan.priceCents > 0)
      .map((plan) => ({
        lookupKey: plan.stripeLookupKey,
        name: `${plan.name} plan`,
        unitAmount: plan.priceCents,
        currency: plan.currency,
        metadata: { type: 'plan', plan: plan.code },
        recurring: { interval: 'month' } as Stripe.PriceCreateParams.Recurring,
      })),
  ];

  const existing = new Map<string, Stripe.Price>();
  for (let i = 0; i < wanted.length; i += 10) {
    const { data } = await stripe.prices.list({
      lookup_keys: wanted.slice(i, i + 10).map((item) => item.lookupKey),
      active: true,
      limit: 10,
    });
    for (const price of data) if (price.lookup_key) existing.set(price.lookup_key, price);
  }

  const results: CatalogSyncResult[] = [];
  for (const item of wanted) {
    const found = existing.get(item.lookupKey);
    if (found) {
      results.push({ lookupKey: item.lookupKey, priceId: found.id, created: false });
      continue;
    }
    const product = await ensureProduct(stripe, item.lookupKey, item.name, item.metadata);
    const price = await stripe.prices.create(
      {
        product,
        lookup_key: item.lookupKey,
        unit_amount: item.unitAmount,
        currency: item.currency,
        metadata: item.metadata,
        ...(item.recurring && { recurring: item.recurring }),
      },
      { idempotencyKey: `catalog-price:${item.lookupKey}:${item.unitAmount}` },
    );
    results.push({ lookupKey: item.lookupKey, priceId: price.id, created: true });
  }
  return results;
}

async function ensureProduct(
  stripe: Stripe,
  id: string,
  name: string,
  metadata: Record<string, string>,
): Promise<string> {
  try {
    return (await stripe.products.create({ id, name, metadata }, { idempotencyKey: `catalog-product:${id}` })).id;
  } catch (error) {
    if ((error as { code?: string }).code !== 'resource_already_exists') throw error;
    return (await stripe.products.retrieve(id)).id;
  }
}
