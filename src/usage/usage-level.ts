import { registerEnumType } from '@nestjs/graphql';

/** Where WARNING starts: the first of the ledger's alert thresholds (credits_alert_thresholds), which a test keeps equal. */
export const WARNING_PERCENT = 80;

export enum UsageLevel {
  OK = 'OK',
  WARNING = 'WARNING',
  EXHAUSTED = 'EXHAUSTED',
}
registerEnumType(UsageLevel, {
  name: 'UsageLevel',
  description: "how much of a type's limit is used, for progress bars and their colours",
  valuesMap: {
    OK: { description: `below ${WARNING_PERCENT} % of the limit, or unlimited` },
    WARNING: { description: `from ${WARNING_PERCENT} % of the limit` },
    EXHAUSTED: { description: 'the whole limit is used' },
  },
});

/** Percent of a limit used, rounded to two decimals; 0 when unlimited. */
export function percentUsed(used: number, limit: number | null): number {
  if (limit === null) return 0;
  if (limit <= 0) return used > 0 ? 100 : 0;
  return Math.round((used / limit) * 10_000) / 100;
}

/** OK below 80 % of the limit, WARNING from 80 %, EXHAUSTED at 100 %. Unlimited is always OK. */
export function usageLevel(used: number, limit: number | null): UsageLevel {
  if (limit === null) return UsageLevel.OK;
  if (used >= limit) return UsageLevel.EXHAUSTED;
  if (used * 100 >= limit * WARNING_PERCENT) return UsageLevel.WARNING;
  return UsageLevel.OK;
}
