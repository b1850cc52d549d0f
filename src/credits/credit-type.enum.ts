import { registerEnumType } from '@nestjs/graphql';

export enum CreditType {
  MESSAGE = 'MESSAGE',
  INTEGRATION = 'INTEGRATION',
  PROJECT = 'PROJECT',
}
registerEnumType(CreditType, {
  name: 'CreditType',
  description: 'what a credit pays for',
  valuesMap: {
    MESSAGE: { description: 'project generation and chat messages: 1 per call' },
    INTEGRATION: { description: 'API integrations and blockchain calls: a cost per call that varies' },
    PROJECT: {
      description:
        'a count quota, not a consumable: one unit is in use while a project exists and comes back when it is ' +
        'deleted; it does not reset with the period and the wallet does not pay for it',
    },
  },
});

/** How a person reads each type in a sentence ("10 message credits"). */
export const CREDIT_TYPE_NOUN: Record<CreditType, string> = {
  [CreditType.MESSAGE]: 'message',
  [CreditType.INTEGRATION]: 'integration',
  [CreditType.PROJECT]: 'project',
};

/** Where credits sit: each type's allowance or quota, plus the wallet shared by MESSAGE and INTEGRATION. */
export type CreditPool = CreditType | 'WALLET';

export type GrantKind = 'ALLOWANCE' | 'PURCHASE' | 'PROMO' | 'ADMIN';

/** What a ledger row records (credit_transactions.kind, the ledger_kind domain). */
export const LedgerKind = {
  GRANT: 'GRANT',
  PURCHASE: 'PURCHASE',
  CONSUME: 'CONSUME',
  HOLD: 'HOLD',
  CAPTURE: 'CAPTURE',
  RELEASE: 'RELEASE',
  REFUND: 'REFUND',
  EXPIRE: 'EXPIRE',
  CLAWBACK: 'CLAWBACK',
  ADJUST: 'ADJUST',
} as const;
export type LedgerKind = (typeof LedgerKind)[keyof typeof LedgerKind];
registerEnumType(LedgerKind, {
  name: 'LedgerEntryKind',
  description: 'what a ledger row records',
  valuesMap: {
    GRANT: { description: "credits granted: a period's plan allowance, or promotional credits" },
    PURCHASE: { description: 'purchased credits entering the wallet, once Stripe has the payment' },
    CONSUME: { description: 'credits spent at once (consumeCredits and metered usage events)' },
    HOLD: {
      description:
        'credits reserved for a guarded operation that is still running; the history shows it as its CAPTURE once ' +
        'it succeeded, and not at all once its credits went back',
    },
    CAPTURE: {
      description:
        "a guarded operation's charge, as the history shows it once the operation succeeded: what it kept of its " +
        'reservation (the ledger keeps the HOLD row and the RELEASE of any unused part)',
    },
    RELEASE: { description: 'reserved credits given back: the operation failed, used less, or its hold expired' },
    REFUND: { description: 'quota units given back: a PROJECT unit when its project is deleted' },
    EXPIRE: { description: "credits that lapsed unused: the period's allowance at its end, or a grant past its expiry" },
    CLAWBACK: { description: 'wallet credits taken back after a Stripe refund or dispute, never below zero' },
    ADJUST: {
      description:
        "an operator's grant, or credits taken back when the allowance was lowered (an unpaid plan falls back to " +
        "FREE's limits)",
    },
  },
});

/** The largest amount one charge or grant may carry; GraphQL's Int bounds it anyway. */
export const MAX_CREDIT_AMOUNT = 1_000_000_000;
