/**
 * Monthly periods anchored on a moment: each period starts on the anchor's day of the month and time of day (UTC),
 * clamped to the month's last day, so an account created on Jan 31 renews on Feb 28 (Feb 29 in a leap year),
 * then on Mar 31.
 */
export interface Period {
  start: Date;
  end: Date;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The start of the `index`-th period after the anchor (index 0 is the anchor itself). */
export function periodStart(anchor: Date, index: number): Date {
  const monthIndex = anchor.getUTCMonth() + index;
  const year = anchor.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  return new Date(
    Date.UTC(
      year,
      month,
      day,
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/** The period that contains `at` (at or after the anchor). */
export function periodAt(anchor: Date, at: Date): Period {
  if (at < anchor) throw new RangeError('periodAt: the moment is before the anchor');
  let index =
    (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (at.getUTCMonth() - anchor.getUTCMonth());
  while (index > 0 && periodStart(anchor, index) > at) index--;
  while (periodStart(anchor, index + 1) <= at) index++;
  return { start: periodStart(anchor, index), end: periodStart(anchor, index + 1) };
}


/**
 * The period that follows one ending at `previousEnd`, as seen at `now` (at or after `previousEnd`): the period of
 * the anchor's monthly chain that contains `now`, except that it never starts before the previous period ended. A
 * period that ran longer than a month (a trial, a moved billing anchor) is therefore followed by one that starts
 * where it ended, never by one inside it; periods missed during downtime are skipped.
 */
export function nextPeriod(anchor: Date, previousEnd: Date, now: Date): Period {
  const containing = periodAt(anchor <= previousEnd ? anchor : previousEnd, now);
  return containing.start >= previousEnd ? containing : { start: previousEnd, end: containing.end };
}
