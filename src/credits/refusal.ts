import { AppLinks } from '../common/app-links';
import { CREDIT_TYPE_NOUN, CreditType } from './credit-type.enum';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { Refusal } from './ledger-functions';

/**
 * The 402-style error for a refused charge: a sentence a person understands (what ran out, of which plan), the
 * figures a program reads, and where to go next (upgrade, buy credits). PROJECT is a quota: QUOTA_EXCEEDED.
 * `walletPays`: whether the wallet pays for this type once the allowance is used up.
 */
export function refusalError(refusal: Refusal, links: AppLinks, walletPays: boolean): CreditsException {
  const noun = CREDIT_TYPE_NOUN[refusal.creditType];
  const details = {
    creditType: refusal.creditType,
    required: refusal.required,
    available: refusal.available,
    limit: refusal.limit,
    plan: refusal.planCode,
    upgradeUrl: links.upgradeUrl,
    purchaseUrl: links.purchaseUrl,
  };
  if (refusal.creditType === CreditType.PROJECT) {
    return new CreditsException(
      CreditsErrorCode.QUOTA_EXCEEDED,
      `Your ${refusal.planName} plan allows ${refusal.limit} projects and you have reached that limit. ` +
        `Delete a project or upgrade: ${links.upgradeUrl}`,
      details,
    );
  }
  const situation =
    refusal.available === 0
      ? `You have used all ${refusal.limit} ${noun} credits of your ${refusal.planName} plan this month` +
        (walletPays ? ' and your wallet has no credits left' : '')
      : `This needs ${refusal.required} ${noun} credits but only ${refusal.available} are left`;
  return new CreditsException(
    CreditsErrorCode.INSUFFICIENT_CREDITS,
    `${situation}. Upgrade or buy credits: ${links.upgradeUrl} or ${links.purchaseUrl}`,
    details,
  );
}
