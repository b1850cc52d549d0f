import { CreditType } from './credit-type.enum';
import { CreditsErrorCode } from './credits.exception';
import { assertText, eventOfBatchError, invalid, normalise, requestHash } from './charge-request';

const codeOf = (work: () => unknown): string | undefined => {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('a charge request', () => {
  it('merges the charges of one type and orders them by type, so that equal requests look equal', () => {
    expect(
      normalise([
        { type: CreditType.PROJECT, amount: 1 },
        { type: CreditType.MESSAGE, amount: 2 },
        { type: CreditType.MESSAGE, amount: 3 },
      ]),
    ).toEqual([
      { type: CreditType.MESSAGE, amount: 5 },
      { type: CreditType.PROJECT, amount: 1 },
    ]);
  });

  it('refuses no charge at all, an unknown type, and amounts that are not whole numbers from 1 to 1e9', () => {
    expect(codeOf(() => normalise([]))).toBe(CreditsErrorCode.INVALID_CHARGE);
    expect(codeOf(() => normalise([{ type: 'GOLD' as CreditType, amount: 1 }]))).toBe(CreditsErrorCode.INVALID_CHARGE);
    for (const amount of [0, -1, 1.5, Number.NaN, 1_000_000_001]) {
      expect(codeOf(() => normalise([{ type: CreditType.MESSAGE, amount }]))).toBe(CreditsErrorCode.INVALID_CHARGE);
    }
  });

  it('refuses charges whose sum per type passes the largest amount', () => {
    const half = { type: CreditType.INTEGRATION, amount: 600_000_000 };
    expect(codeOf(() => normalise([half, half]))).toBe(CreditsErrorCode.INVALID_CHARGE);
  });

  it('takes optional texts of 1 to max characters', () => {
    expect(codeOf(() => assertText(undefined, 'description', 5))).toBeUndefined();
    expect(codeOf(() => assertText('abcde', 'description', 5))).toBeUndefined();
    expect(codeOf(() => assertText('', 'description', 5))).toBe(CreditsErrorCode.INVALID_CHARGE);
    expect(codeOf(() => assertText('abcdef', 'description', 5))).toBe(CreditsErrorCode.INVALID_CHARGE);
  });

  it('refuses a batch for one malformed event by naming the event, and a batch of one as the event alone', () => {
    const refusal = invalid('amount must be a whole number.', 'amount');
    expect(eventOfBatchError(refusal, 2, 5)).toMatchObject({
      code: CreditsErrorCode.INVALID_CHARGE,
      message: 'Event 3: amount must be a whole number.',
      details: { field: 'events.2' },
    });
    expect(eventOfBatchError(refusal, 0, 1)).toBe(refusal);
    const unexpected = new Error('the database went away');
    expect(eventOfBatchError(unexpected, 2, 5)).toBe(unexpected);
  });

  it('is identified by account, mode and charges: any difference makes another request', () => {
    const charges = [{ type: CreditType.MESSAGE, amount: 1 }];
    const hash = requestHash('alice', 'CONSUME', charges);
    expect(requestHash('alice', 'CONSUME', [{ type: CreditType.MESSAGE, amount: 1 }])).toBe(hash);
    expect(requestHash('bob', 'CONSUME', charges)).not.toBe(hash);
    expect(requestHash('alice', 'HOLD', charges)).not.toBe(hash);
    expect(requestHash('alice', 'CONSUME', [{ type: CreditType.MESSAGE, amount: 2 }])).not.toBe(hash);
  });
});
