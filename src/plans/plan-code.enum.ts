import { registerEnumType } from '@nestjs/graphql';

export enum PlanCode {
  FREE = 'FREE',
  STARTER = 'STARTER',
  BUILDER = 'BUILDER',
  PRO = 'PRO',
  ELITE = 'ELITE',
}
registerEnumType(PlanCode, { name: 'PlanCode' });
