import { InitialSchema1795258800000 } from './legacy-migrations/1795258800000-InitialSchema';
import { LedgerFunctions1795258800100 } from './legacy-migrations/1795258800100-LedgerFunctions';
import { SeedCatalog1795258800200 } from './legacy-migrations/1795258800200-SeedCatalog';
import { Projects1795258800300 } from './legacy-migrations/1795258800300-Projects';
import { Billing1795258800400 } from './legacy-migrations/1795258800400-Billing';
import { ConsumeBatch1795258800500 } from './legacy-migrations/1795258800500-ConsumeBatch';
import { LeanerHotPath1795258800600 } from './legacy-migrations/1795258800600-LeanerHotPath';
import { GuardBatch1795258800700 } from './legacy-migrations/1795258800700-GuardBatch';
import { LedgerDomains1795258800800 } from './legacy-migrations/1795258800800-LedgerDomains';
import { LeanGuard1795258800900 } from './legacy-migrations/1795258800900-LeanGuard';
import { NoCreditGivenAway1795258801000 } from './legacy-migrations/1795258801000-NoCreditGivenAway';
import { PaidPeriods1795258801100 } from './legacy-migrations/1795258801100-PaidPeriods';
import { SubscriptionCheckouts1795258801200 } from './legacy-migrations/1795258801200-SubscriptionCheckouts';
import { OwedCredits1795258801300 } from './legacy-migrations/1795258801300-OwedCredits';

/**
 * The migration history the baseline (migrations/1795258801400-Baseline.ts) replaced, kept to show that the baseline
 * and the function files produce the schema it produced (test/schema.e2e-spec.ts).
 */
export const LEGACY_MIGRATIONS = [
  InitialSchema1795258800000,
  LedgerFunctions1795258800100,
  SeedCatalog1795258800200,
  Projects1795258800300,
  Billing1795258800400,
  ConsumeBatch1795258800500,
  LeanerHotPath1795258800600,
  GuardBatch1795258800700,
  LedgerDomains1795258800800,
  LeanGuard1795258800900,
  NoCreditGivenAway1795258801000,
  PaidPeriods1795258801100,
  SubscriptionCheckouts1795258801200,
  OwedCredits1795258801300,
];
