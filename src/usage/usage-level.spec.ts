import { percentUsed, UsageLevel, usageLevel } from './usage-level';

describe('usage levels', () => {
  it('is OK below 80 %', () => {
    expect(usageLevel(0, 10)).toBe(UsageLevel.OK);
    expect(usageLevel(7, 10)).toBe(UsageLevel.OK);
    expect(usageLevel(1599, 2000)).toBe(UsageLevel.OK);
  });

  it('warns from exactly 80 %', () => {
    expect(usageLevel(8, 10)).toBe(UsageLevel.WARNING);
    expect(usageLevel(1600, 2000)).toBe(UsageLevel.WARNING);
    expect(usageLevel(9, 10)).toBe(UsageLevel.WARNING);
  });

  it('is exhausted at and beyond the limit', () => {
    expect(usageLevel(10, 10)).toBe(UsageLevel.EXHAUSTED);
    expect(usageLevel(5, 3)).toBe(UsageLevel.EXHAUSTED);
    expect(usageLevel(0, 0)).toBe(UsageLevel.EXHAUSTED);
  });

  it('never leaves OK when unlimited', () => {
    expect(usageLevel(1_000_000, null)).toBe(UsageLevel.OK);
    expect(percentUsed(1_000_000, null)).toBe(0);
  });

  it('computes the percentage with two decimals', () => {
    expect(percentUsed(8, 10)).toBe(80);
    expect(percentUsed(1, 3)).toBe(33.33);
    expect(percentUsed(0, 0)).toBe(0);
  });
});
