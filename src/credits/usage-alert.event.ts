import { CreditType } from './credit-type.enum';

/**
 * Published (through @nestjs/event-emitter) when a charge first takes a type to 80 % or 100 % of its limit in a
 * period. Listen with `@OnEvent(UsageAlertEvent.NAME)`; each alert is published once.
 */
export class UsageAlertEvent {
  static readonly NAME = 'usage.alert';

  constructor(
    readonly accountId: string,
    readonly creditType: CreditType,
    readonly threshold: 80 | 100,
    readonly used: number,
    readonly limit: number,
    readonly periodStart: Date,
  ) {}
}
