// Display rules: numbers, money, dates, and when an allowance runs out at the current pace.
const integer = new Intl.NumberFormat('en-US');

export const formatNumber = (value) => integer.format(value);

export function formatMoney(cents, currency = 'usd', digits = 2) {
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(cents / 100);
}

const dateFormat = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' });
export const formatDate = (iso) => dateFormat.format(new Date(iso));
export const formatDateTime = (iso) => dateTimeFormat.format(new Date(iso));

export const CREDIT_TYPE_NAMES = { MESSAGE: 'Messages', INTEGRATION: 'Integrations', PROJECT: 'Projects' };
export const CREDIT_TYPE_HINTS = {
  MESSAGE: 'Project generation and chat messages, 1 credit each',
  INTEGRATION: 'API integration and blockchain calls',
  PROJECT: 'Projects you can keep at once',
};
export const LEVEL_NAMES = { OK: 'OK', WARNING: 'Warning', EXHAUSTED: 'Exhausted' };

/**
 * When the allowance runs out if use goes on at the pace of the period so far: used / elapsed time gives the
 * pace, what is left (limit − used − held) divided by it the time left. `lasts` when that falls after the reset.
 */
export function runOut(balance, periodStart, periodEnd, now = new Date()) {
  if (balance.limit === null) return { kind: 'unlimited' };
  const left = balance.limit - balance.used - balance.held;
  if (balance.creditType === 'PROJECT') return { kind: left <= 0 ? 'quota-full' : 'quota' };
  if (left <= 0) return { kind: 'exhausted' };
  if (balance.used <= 0) return { kind: 'unused' };
  const elapsed = now.getTime() - new Date(periodStart).getTime();
  if (elapsed <= 0) return { kind: 'unused' };
  const at = new Date(now.getTime() + Math.ceil((left * elapsed) / balance.used));
  return at < new Date(periodEnd) ? { kind: 'date', at } : { kind: 'lasts' };
}

export function describeRunOut(projection) {
  switch (projection.kind) {
    case 'unlimited':
      return 'Never: unlimited';
    case 'exhausted':
      return 'Used up: the wallet pays for more';
    case 'quota':
      return 'Does not run out with time';
    case 'quota-full':
      return 'Reached: delete a project or upgrade';
    case 'unused':
      return 'Not used yet this period';
    case 'lasts':
      return 'Lasts until the reset at this pace';
    default:
      return `${formatDateTime(projection.at.toISOString())} at this pace`;
  }
}
