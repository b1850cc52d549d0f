import { projectedExhaustion } from './burn-rate';

const period = { start: new Date('2027-03-01T00:00:00Z'), end: new Date('2027-03-31T00:00:00Z') };

describe('projected exhaustion', () => {
  it('extrapolates the pace of the period so far', () => {
    // 40 of 100 used in 4 days: 10 a day, 60 left, 6 more days.
    const at = projectedExhaustion({ used: 40, held: 0, limit: 100 }, period, new Date('2027-03-05T00:00:00Z'));
    expect(at?.toISOString()).toBe('2027-03-11T00:00:00.000Z');
  });

  it('counts held credits as gone', () => {
    const at = projectedExhaustion({ used: 40, held: 20, limit: 100 }, period, new Date('2027-03-05T00:00:00Z'));
    expect(at?.toISOString()).toBe('2027-03-09T00:00:00.000Z');
  });

  it('says null when the allowance lasts until the reset, is unused or unlimited', () => {
    const now = new Date('2027-03-20T00:00:00Z');
    expect(projectedExhaustion({ used: 10, held: 0, limit: 100 }, period, now)).toBeNull();
    expect(projectedExhaustion({ used: 0, held: 0, limit: 100 }, period, now)).toBeNull();
    expect(projectedExhaustion({ used: 10, held: 0, limit: null }, period, now)).toBeNull();
  });

  it('says now when it is already used up', () => {
    const now = new Date('2027-03-02T00:00:00Z');
    expect(projectedExhaustion({ used: 10, held: 0, limit: 10 }, period, now)).toEqual(now);
  });
});
