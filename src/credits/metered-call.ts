import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import { DataSource, EntityManager } from 'typeorm';
import { requestOf } from '../common/request-context';
import { CreditType } from './credit-type.enum';

/**
 * What a guarded handler can see of its own charge: it may report that it used less than was reserved (the rest
 * goes back at capture), it can stop early when the client has gone (`signal`), and it can write its own rows in
 * the same transaction as the capture (`transaction`), so that its work and its charge commit together or not at
 * all.
 */
export class MeteredCall {
  // Made when a handler first asks for the signal or the client leaves: most calls never need one.
  private controller?: AbortController;
  private readonly actuals: Partial<Record<CreditType, number>> = {};
  private settledInside = false;

  constructor(
    readonly holdId: string,
    private readonly dataSource: DataSource,
    private readonly captureWithin: (
      manager: EntityManager,
      actuals: Partial<Record<CreditType, number>>,
      result: unknown,
    ) => Promise<Array<{ type: CreditType; amount: number }>>,
  ) {}

  /** What `transaction` charged, once it committed. */
  captured?: Array<{ type: CreditType; amount: number }>;

  /**
   * Runs `work` in a transaction that also captures this call's charge (with what `reportActual` said so far):
   * either both the work and the charge commit, or neither does and the handler fails. What `work` resolves to is
   * what a retry with the same Idempotency-Key gets back. Once per call. All of `work`'s database access goes
   * through `manager`: the transaction holds a pool connection, and taking a second one meanwhile can wait forever
   * once every connection is held the same way.
   */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.settledInside) throw new Error(`The charge of hold ${this.holdId} was already captured`);
    let captured: Array<{ type: CreditType; amount: number }> = [];
    const result = await this.dataSource.transaction(async (manager) => {
      const value = await work(manager);
      captured = await this.captureWithin(manager, this.reported, value);
      return value;
    });
    this.settledInside = true;
    this.captured = captured;
    return result;
  }

  /** True once `transaction` committed the work and its charge. */
  get settled(): boolean {
    return this.settledInside;
  }

  /** The client disconnected: expensive work may stop (throwing releases the charge; succeeding captures it). */
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
