import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import { requestOf } from '../common/request-context';
import { CreditType } from './credit-type.enum';

/**
 * What a guarded handler can see of its own charge: it may report that it used less than was reserved (the rest
 * goes back at capture), and it can stop early when the client has gone (`signal`).
 */
export class MeteredCall {
  // Made when a handler first asks for the signal or the client leaves: most calls never need one.
  private controller?: AbortController;
  private readonly actuals: Partial<Record<CreditType, number>> = {};

  constructor(readonly holdId: string) {}

  /** The client disconnected: the charge will be released, so expensive work may stop. */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  /** Charge only `amount` of `type` (at most what was reserved). */
  reportActual(type: CreditType, amount: number): void {
    this.actuals[type] = amount;
  }

  get reported(): Partial<Record<CreditType, number>> {
    return { ...this.actuals };
  }

  abort(): void {
    this.controller ??= new AbortController();
    this.controller.abort();
  }
}

/** Per handler call: a GraphQL operation may run several guarded fields on one HTTP request. */
const calls = new WeakMap<object, MeteredCall>();

export function callKey(context: ExecutionContext): object {
  if (context.getType<GqlContextType>() === 'graphql') return GqlExecutionContext.create(context).getInfo<object>();
  return requestOf(context);
}

export function attachMeteredCall(context: ExecutionContext, call: MeteredCall): void {
  calls.set(callKey(context), call);
}

/** Injects the MeteredCall of a handler guarded by @RequiresCredits (undefined elsewhere). */
export const Metered = createParamDecorator(
  (_: unknown, context: ExecutionContext): MeteredCall | undefined => calls.get(callKey(context)),
);
