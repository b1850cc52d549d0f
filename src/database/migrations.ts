import { Baseline1795258801400 } from '../../migrations/1795258801400-Baseline';
import { SpendingOrder1795258801500 } from '../../migrations/1795258801500-SpendingOrder';
import { WalletTotals1795258801600 } from '../../migrations/1795258801600-WalletTotals';
import { KeptAllocations1795258801700 } from '../../migrations/1795258801700-KeptAllocations';

/**
 * Every migration, in order. Listed explicitly so compiled and test runs load the same set. Migrations change the
 * schema only; the database functions are applied after them from migrations/functions/ (database-functions.ts).
 */
export const MIGRATIONS = [Baseline1795258801400, SpendingOrder1795258801500, WalletTotals1795258801600, KeptAllocations1795258801700];
