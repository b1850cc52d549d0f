import { PlanCode } from '../plans/plan-code.enum';
import { SubscriptionStatus } from './entities/account.entity';
import { entitledPlan, graceEndsAt, SubscriptionState } from './entitled-plan';

const since = new Date('2030-01-10T00:00:00.000Z');
const hours = (count: number) => new Date(since.getTime() + count * 3_600_000);
const subscribed = (status: SubscriptionStatus, pastDueSince: Date | null = null): SubscriptionState => ({
  planCode: PlanCode.ELITE,
  subscriptionPlanCode: PlanCode.ELITE,
  status,
  pastDueSince,
});

describe('entitled plan', () => {
  it('gives an active or trialing subscription its plan', () => {
    expect(entitledPlan(subscribed(SubscriptionStatus.ACTIVE), since, 72)).toBe(PlanCode.ELITE);
    expect(entitledPlan(subscribed(SubscriptionStatus.TRIALING), since, 72)).toBe(PlanCode.ELITE);
  });

  it('gives an incomplete subscription, whose first payment was not made, the FREE allowance', () => {
    expect(entitledPlan(subscribed(SubscriptionStatus.INCOMPLETE), since, 72)).toBe(PlanCode.FREE);
  });

  it('keeps a past-due subscription on its plan for the grace, then falls back to FREE', () => {
    const pastDue = subscribed(SubscriptionStatus.PAST_DUE, since);
    expect(entitledPlan(pastDue, hours(71.9), 72)).toBe(PlanCode.ELITE);
    expect(entitledPlan(pastDue, hours(72), 72)).toBe(PlanCode.FREE);
    expect(entitledPlan(pastDue, hours(1), 0)).toBe(PlanCode.FREE);
    expect(graceEndsAt(pastDue, 72)).toEqual(hours(72));
  });

  it('has no grace for a subscription that is not past due', () => {
    expect(graceEndsAt(subscribed(SubscriptionStatus.ACTIVE, since), 72)).toBeNull();
  });

  it('leaves an account without a subscription on its own plan', () => {
    const state = { planCode: PlanCode.BUILDER, subscriptionPlanCode: null, status: SubscriptionStatus.ACTIVE, pastDueSince: null };
    expect(entitledPlan(state, since, 72)).toBe(PlanCode.BUILDER);
  });
});
