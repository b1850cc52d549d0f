import { nextPeriod, periodAt, periodStart } from './period-math';

const utc = (iso: string) => new Date(iso);

describe('period math', () => {
  it('clamps a Jan 31 anchor to Feb 28, then returns to Mar 31', () => {
    const anchor = utc('2027-01-31T10:00:00.000Z');
    expect(periodStart(anchor, 1).toISOString()).toBe('2027-02-28T10:00:00.000Z');
    expect(periodStart(anchor, 2).toISOString()).toBe('2027-03-31T10:00:00.000Z');
    expect(periodStart(anchor, 3).toISOString()).toBe('2027-04-30T10:00:00.000Z');
  });

  it('uses Feb 29 in a leap year', () => {
    const anchor = utc('2028-01-31T00:00:00.000Z');
    expect(periodStart(anchor, 1).toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(periodStart(anchor, 2).toISOString()).toBe('2028-03-31T00:00:00.000Z');
  });

  it('rolls December over into January of the next year', () => {
    const anchor = utc('2026-12-15T08:30:00.000Z');
    const first = periodAt(anchor, anchor);
    expect(first.start.toISOString()).toBe('2026-12-15T08:30:00.000Z');
    expect(first.end.toISOString()).toBe('2027-01-15T08:30:00.000Z');
    expect(periodAt(anchor, first.end).end.toISOString()).toBe('2027-02-15T08:30:00.000Z');
  });

  it('finds the period containing a moment, boundaries included at the start', () => {
    const anchor = utc('2026-01-31T12:00:00.000Z');
    const atBoundary = periodAt(anchor, utc('2026-02-28T12:00:00.000Z'));
    expect(atBoundary.start.toISOString()).toBe('2026-02-28T12:00:00.000Z');
    const justBefore = periodAt(anchor, utc('2026-02-28T11:59:59.999Z'));
    expect(justBefore.start.toISOString()).toBe('2026-01-31T12:00:00.000Z');
    expect(justBefore.end.toISOString()).toBe('2026-02-28T12:00:00.000Z');
  });

  it('catches up over many months in one step', () => {
    const anchor = utc('2026-03-31T00:00:00.000Z');
    const later = periodAt(anchor, utc('2026-07-05T00:00:00.000Z'));
    expect(later.start.toISOString()).toBe('2026-06-30T00:00:00.000Z');
    expect(later.end.toISOString()).toBe('2026-07-31T00:00:00.000Z');
  });

  it('refuses a moment before the anchor', () => {
    expect(() => periodAt(utc('2026-03-01T00:00:00Z'), utc('2026-02-01T00:00:00Z'))).toThrow(RangeError);
  });

  describe('the period after one that has ended', () => {
    it('follows the anchor month by month', () => {
      const anchor = utc('2027-01-31T10:00:00.000Z');
      const next = nextPeriod(anchor, utc('2027-02-28T10:00:00.000Z'), utc('2027-02-28T10:00:05.000Z'));
      expect([next.start.toISOString(), next.end.toISOString()]).toEqual([
        '2027-02-28T10:00:00.000Z',
        '2027-03-31T10:00:00.000Z',
      ]);
    });

    it('starts where a longer first period (a 45-day trial) ended, never inside it', () => {
      const start = utc('2027-01-01T00:00:00.000Z');
      const trialEnd = utc('2027-02-15T00:00:00.000Z');
      // Anchored on the trial's end, as Stripe's billing cycle is: a whole month from there.
      const anchored = nextPeriod(trialEnd, trialEnd, utc('2027-02-15T00:01:00.000Z'));
      expect([anchored.start.toISOString(), anchored.end.toISOString()]).toEqual([
        '2027-02-15T00:00:00.000Z',
        '2027-03-15T00:00:00.000Z',
      ]);
      // Anchored on the subscription's start: still from the trial's end, up to the anchor's next step.
      const fromStart = nextPeriod(start, trialEnd, utc('2027-02-15T00:01:00.000Z'));
      expect(fromStart.start.toISOString()).toBe('2027-02-15T00:00:00.000Z');
      expect(fromStart.end.toISOString()).toBe('2027-03-01T00:00:00.000Z');
    });

    it('skips the periods missed while nothing ran', () => {
      const anchor = utc('2027-01-10T00:00:00.000Z');
      const next = nextPeriod(anchor, utc('2027-02-10T00:00:00.000Z'), utc('2027-07-20T00:00:00.000Z'));
      expect([next.start.toISOString(), next.end.toISOString()]).toEqual([
        '2027-07-10T00:00:00.000Z',
        '2027-08-10T00:00:00.000Z',
      ]);
    });
  });
});
