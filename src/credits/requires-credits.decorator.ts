import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { CreditType } from './credit-type.enum';
import { CreditsInterceptor } from './credits.interceptor';

/** One charge of a guarded operation; `amount` may be computed from the operation's arguments. */
export interface CreditRequirement<Args = any> {
  type: CreditType;
  amount: number | ((args: Args) => number);
}

export const REQUIRED_CREDITS = 'credits:required';

/**
 * Meters and gates a GraphQL resolver or REST handler (or every handler of a class):
 *
 *   @RequiresCredits({ type: CreditType.MESSAGE, amount: 1 })
 *   @RequiresCredits([{ type: CreditType.MESSAGE, amount: 1 }, { type: CreditType.PROJECT, amount: 1 }])
 *   @RequiresCredits({ type: CreditType.INTEGRATION, amount: (args) => args.calls })
 *
 * All charges are reserved together before the handler runs, captured when it succeeds and released when it fails.
 * When they cannot be paid the handler does not run and the caller gets INSUFFICIENT_CREDITS (QUOTA_EXCEEDED for
 * PROJECT) with status 402. See CreditsInterceptor, which the decorator attaches to the handlers it guards only, so
 * that the rest of the API pays nothing for it (CreditsModule is global: the handler's module need not import it).
 */
export const RequiresCredits = <Args = any>(requirements: CreditRequirement<Args> | CreditRequirement<Args>[]) =>
  applyDecorators(
    SetMetadata(REQUIRED_CREDITS, Array.isArray(requirements) ? requirements : [requirements]),
    // Referenced when the decorator runs (class definition), after both modules have loaded.
    UseInterceptors(CreditsInterceptor),
  );
