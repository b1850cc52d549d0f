import { registerEnumType } from '@nestjs/graphql';

export enum CreditType {
  MESSAGE = 'MESSAGE',
  INTEGRATION = 'INTEGRATION',
  PROJECT = 'PROJECT',
}
registerEnumType(CreditType, { name: 'CreditType' });

/** How a person reads each type in a sentence ("10 message credits"). */
export const CREDIT_TYPE_NOUN: Record<CreditType, string> = {
  [CreditType.MESSAGE]: 'message',
  [CreditType.INTEGRATION]: 'integration',
  [CreditType.PROJECT]: 'project',
};

/** Where credits sit: each type's allowance or quota, plus the wallet shared by MESSAGE and INTEGRATION. */
export type CreditPool = CreditType | 'WALLET';

export type GrantKind = 'ALLOWANCE' | 'PURCHASE' | 'PROMO' | 'ADMIN';

export type LedgerKind =
  | 'GRANT'
  | 'PURCHASE'
  | 'CONSUME'
  | 'HOLD'
  | 'CAPTURE'
  | 'RELEASE'
  | 'REFUND'
  | 'EXPIRE'
  | 'CLAWBACK'
  | 'ADJUST';


/** The largest amount one charge or grant may carry; GraphQL's Int bounds it anyway. */
export const MAX_CREDIT_AMOUNT = 1_000_000_000;
