// Display rules: numbers, money, dates, and when an allowance runs out at the current pace, in words.
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

/** When an allowance runs out at the current pace, in words, from what the overview says (`projectedExhaustionAt`). */
export function describeRunOut(balance) {
  if (balance.limit === null) return 'Never: unlimited';
  if (balance.creditType === 'PROJECT') {
    return balance.remaining <= 0 ? 'Reached: delete a project or upgrade' : 'Does not run out with time';
  }
  if (balance.remaining <= 0) return 'Used up: the wallet pays for more';
  if (balance.used <= 0) return 'Not used yet this period';
  if (!balance.projectedExhaustionAt) return 'Lasts until the reset at this pace';
  return `${formatDateTime(balance.projectedExhaustionAt)} at this pace`;
}
