import { PlanCode } from '../plans/plan-code.enum';
import { CreditType } from './credit-type.enum';
import { CreditsErrorCode } from './credits.exception';
import { Refusal } from './ledger-functions';
import { refusalError } from './refusal';

const links = { upgradeUrl: 'https://app.test/billing/plans', purchaseUrl: 'https://app.test/billing/credits' };
const refused = (overrides: Partial<Refusal>): Refusal => ({
  status: 'REFUSED',
  creditType: CreditType.MESSAGE,
  required: 1,
  available: 0,
  limit: 10,
  planCode: PlanCode.FREE,
  planName: 'Free',
  ...overrides,
});

describe('a refused charge', () => {
  it('says the allowance and the wallet are used up, with both ways out', () => {
    const error = refusalError(refused({}), links, true);
    expect(error.code).toBe(CreditsErrorCode.INSUFFICIENT_CREDITS);
    expect(error.message).toBe(
      'You have used all 10 message credits of your Free plan this month and your wallet has no credits left. ' +
        'Upgrade or buy credits: https://app.test/billing/plans or https://app.test/billing/credits',
    );
    expect(error.details).toEqual({
      creditType: CreditType.MESSAGE,
      required: 1,
      available: 0,
      limit: 10,
      plan: PlanCode.FREE,
      ...links,
    });
  });

  it('does not mention the wallet when the wallet does not pay for the type', () => {
    expect(refusalError(refused({}), links, false).message).toMatch(/^You have used all 10 message credits of your Free plan this month\. /);
  });

  it('says how much is left when something is, but not enough', () => {
    expect(refusalError(refused({ required: 5, available: 2 }), links, true).message).toMatch(
      /^This needs 5 message credits but only 2 are left\. /,
    );
  });

  it('is QUOTA_EXCEEDED for projects, pointing to the upgrade', () => {
    const error = refusalError(refused({ creditType: CreditType.PROJECT, limit: 3 }), links, false);
    expect(error.code).toBe(CreditsErrorCode.QUOTA_EXCEEDED);
    expect(error.message).toBe(
      'Your Free plan allows 3 projects and you have reached that limit. Delete a project or upgrade: https://app.test/billing/plans',
    );
  });
});
