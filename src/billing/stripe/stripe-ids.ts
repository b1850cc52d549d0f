/** The id of a Stripe reference, which arrives as an id string or an expanded object; null when absent. */
export function stripeId(value: string | { id?: unknown } | null | undefined): string | null {
  if (typeof value === 'string') return value || null;
  return typeof value?.id === 'string' && value.id ? value.id : null;
}
