import { AuthErrorCode, AuthException } from '../auth/auth.exception';
import { AuthenticatedAccount, hasRole, Role } from '../auth/role.enum';
import { eventOfBatchError, invalid } from './charge-request';
import { CreditType } from './credit-type.enum';
import { ConsumeOutcome, UsageEvent } from './credits.service';
import { ConsumeCreditsInput } from './dtos/inputs/consume-credits.input';
import { CreditsErrorCode } from './credits.exception';
import { ConsumeRefusalReason, ConsumeResultOutput } from './dtos/outputs/consume-result.output';

/**
 * Server-to-server metering, one event or a batch, in GraphQL and REST alike: the service and admin roles may
 * charge any account, a user only their own. PROJECT is not metered: it is a quota that moves only when the host
 * creates a project (its own guarded operation) and deletes it, so an event for it is bad input and charges nothing.
 */
export function usageEvent(caller: AuthenticatedAccount, input: ConsumeCreditsInput): UsageEvent {
  const accountId = input.accountId ?? caller.id;
  if (accountId !== caller.id && !hasRole(caller, Role.SERVICE, Role.ADMIN)) {
    throw new AuthException(AuthErrorCode.FORBIDDEN, 'Only the service and admin roles may charge another account.');
  }
  if (input.creditType === CreditType.PROJECT) {
    throw invalid(
      'PROJECT is a quota, not metered usage: a unit is taken when a project is created and given back when it is ' +
        'deleted. Nothing was charged.',
      'creditType',
    );
  }
  return {
    accountId,
    charge: { type: input.creditType, amount: input.amount },
    options: { idempotencyKey: input.idempotencyKey, description: input.description },
  };
}

/** A metering batch, each event read as usageEvent reads it: one that is refused refuses the whole batch. */
export function usageEvents(caller: AuthenticatedAccount, inputs: ConsumeCreditsInput[]): UsageEvent[] {
  return inputs.map((input, index) => {
    try {
      return usageEvent(caller, input);
    } catch (error) {
      throw eventOfBatchError(error, index, inputs.length);
    }
  });
}

/** What a metered event answers: charged, or refused with the reason and a sentence a person understands. */
export function consumeResult(outcome: ConsumeOutcome): ConsumeResultOutput {
  return {
    allowed: outcome.allowed,
    creditType: outcome.creditType,
    charged: outcome.charged,
    fromAllowance: outcome.fromAllowance,
    fromWallet: outcome.fromWallet,
    remaining: outcome.remaining,
    replayed: outcome.replayed,
    reason: outcome.refusal ? refusalReason(outcome.refusal.code) : null,
    message: outcome.refusal?.message ?? null,
  };
}

const REFUSAL_REASONS: ReadonlySet<string> = new Set(Object.values(ConsumeRefusalReason));

/** A refusal's code as the reason a metered event answers; any other code is a failure, never an answer. */
function refusalReason(code: CreditsErrorCode): ConsumeRefusalReason {
  if (!REFUSAL_REASONS.has(code)) throw new Error(`A charge was refused with ${code}, which is no ConsumeRefusalReason`);
  return code as ConsumeRefusalReason;
}
