import { ValueTransformer } from 'typeorm';

/**
 * Credits are stored as `bigint` and handled as JavaScript numbers. Reading a value outside the safe integer range
 * would silently lose precision, so it is refused instead.
 */
export const bigintTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null): number | null => {
    if (value === null || value === undefined) return null;
    const parsed = typeof value === 'number' ? value : Number(value);
    if (!Number.isSafeInteger(parsed)) throw new RangeError(`bigint value ${String(value)} is not a safe integer`);
    return parsed;
  },
};

/** Parses a bigint column read through a raw query. */
export function toSafeInteger(value: string | number | null | undefined): number {
  const parsed = bigintTransformer.from(value ?? 0) as number;
  return parsed;
}
