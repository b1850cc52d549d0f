import { registerEnumType } from '@nestjs/graphql';

export enum PlanCode {
  FREE = 'FREE',
  STARTER = 'STARTER',
  BUILDER = 'BUILDER',
  PRO = 'PRO',
  ELITE = 'ELITE',
}
registerEnumType(PlanCode, {
  name: 'PlanCode',
  description: "a plan of the catalog; each plan's limits and price are in `plans`",
  valuesMap: {
    FREE: { description: 'the plan of every new account, and of an account whose paid plan ended' },
    STARTER: { description: 'the first paid plan' },
    BUILDER: { description: 'a paid plan above STARTER' },
    PRO: { description: 'a paid plan above BUILDER' },
    ELITE: { description: 'the largest paid plan' },
  },
});
