import { PlanCode } from '../plans/plan-code.enum';
import { SubscriptionStatus } from './entities/account.entity';

export interface SubscriptionState {
  /** The plan whose limits the account has now. */
  planCode: PlanCode;
  /** The plan of its Stripe subscription; null without one. */
  subscriptionPlanCode: PlanCode | null;
  status: SubscriptionStatus;
  pastDueSince: Date | null;
}

/** The end of a past-due subscription's grace, or null when it is not past due. */
export function graceEndsAt(state: Pick<SubscriptionState, 'status' | 'pastDueSince'>, graceHours: number): Date | null {
  if (state.status !== SubscriptionStatus.PAST_DUE || !state.pastDueSince) return null;
  return new Date(state.pastDueSince.getTime() + graceHours * 3_600_000);
}

/**
 * The plan whose allowance an account gets at `now`: paid allowance is for paid periods. An active (or trialing)
 * subscription gets its plan; an incomplete one (first payment not made) the FREE allowance; a past-due one keeps its
 * plan for `graceHours`, then has the FREE limits until a payment brings it back. Without a subscription, the
 * account's own plan.
 */
export function entitledPlan(state: SubscriptionState, now: Date, graceHours: number): PlanCode {
  if (!state.subscriptionPlanCode) return state.planCode;
  switch (state.status) {
    case SubscriptionStatus.ACTIVE:
    case SubscriptionStatus.TRIALING:
      return state.subscriptionPlanCode;
    case SubscriptionStatus.PAST_DUE: {
      const graceEnd = graceEndsAt(state, graceHours);
      return graceEnd && now >= graceEnd ? PlanCode.FREE : state.subscriptionPlanCode;
    }
    default:
      return PlanCode.FREE;
  }
}
