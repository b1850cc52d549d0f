/**
 * When an allowance runs out if it keeps being used at the pace of the period so far. Null when nothing was used
 * yet, when it is unlimited, or when at this pace it lasts until the period resets; `now` when it is used up.
 */
export function projectedExhaustion(
  usage: { used: number; held: number; limit: number | null },
  period: { start: Date; end: Date },
  now: Date,
): Date | null {
  if (usage.limit === null || usage.used <= 0) return null;
  const left = usage.limit - usage.used - usage.held;
  if (left <= 0) return now;
  const elapsed = now.getTime() - period.start.getTime();
  if (elapsed <= 0) return null;
  const at = new Date(now.getTime() + Math.ceil((left * elapsed) / usage.used));
  return at < period.end ? at : null;
}
