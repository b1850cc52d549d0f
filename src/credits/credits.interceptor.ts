import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { DataSource } from 'typeorm';
import { catchError, from, mergeMap, Observable, of, throwError } from 'rxjs';
import { AuthErrorCode, AuthException } from '../auth/auth.exception';
import { BillingRequest, requestOf } from '../common/request-context';
import { createValidationPipe } from '../common/validation';
import { CreditType } from './credit-type.enum';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { Charge, MAX_IDEMPOTENCY_KEY_LENGTH, normalise } from './charge-request';
import { CreditsService, Hold } from './credits.service';
import { FieldChargeOutcome, GuardedField, GuardedOperations } from './guarded-operation';
import { attachMeteredCall, MeteredCall } from './metered-call';
import { handlerArguments } from './nest-metadata';
import { OpenHolds } from './open-holds';
import { CreditRequirement, REQUIRED_CREDITS } from './requires-credits.decorator';

const PRIMITIVES: unknown[] = [String, Number, Boolean, Object, Array];
/** How often a capture that met an unreachable ledger is tried again (backing off from half a second to 30 s). */
const CAPTURE_RETRIES = 8;

/** What a guarded REST handler's amount functions receive: each part of the request as the handler receives it. */
export interface RestArguments {
  body: Record<string, any>;
  query: Record<string, any>;
  params: Record<string, any>;
}


/**
 * The holds of an operation whose guarded root fields were reserved together before the first of them ran, and what
 * became of each field. Kept per HTTP request (one GraphQL operation each).
 */
interface OperationCharges {
  ready: Promise<void>;
  holds: Map<string, Hold>;
  refusal?: unknown;
  outcomes: FieldChargeOutcome[];
}

/** The outcomes of the guarded fields of a request, for the answer's `extensions.credits`. */
export function chargeOutcomesOf(request: object): FieldChargeOutcome[] | undefined {
  return operations.get(request)?.outcomes;
}

const operations = new WeakMap<object, OperationCharges>();

/**
 * Enforces @RequiresCredits. An interceptor alone does the whole job because it is the one Nest hook that sees
 * both sides of the handler: before it, the charges are reserved (all or none; a refusal means the handler never
 * runs); after it, the hold is captured with the handler's result, or released when the handler throws (also
 * after an await). It runs after the AuthGuard, so the account is known.
 *
 * Work that succeeded is charged, whoever is still listening: a client that hangs up only aborts the call's
 * `signal`, so a handler may stop early; the hold is released only if the handler then fails.
 *
 * A GraphQL operation with several guarded root fields is reserved as a whole before any of them runs: when they
 * cannot all be paid, none runs and nothing is charged. Every answer lists what each guarded field was charged
 * (`extensions.credits`), so a client can always tell, whatever else failed.
 *
 * Nest validates arguments only after interceptors have started, so the interceptor validates the handler's DTO
 * arguments itself first, each from its own source: bad input is refused before anything is reserved and leaves no
 * ledger row.
 *
 * An `Idempotency-Key` header makes the reservation idempotent per operation: a retry of a request that succeeded
 * gets the first answer again without being charged or running again; a retry while the first is still running is
 * refused; a retry after a failure runs normally.
 */
@Injectable()
export class CreditsInterceptor implements NestInterceptor {
  private readonly logger = new Logger(CreditsInterceptor.name);
  private readonly validation = createValidationPipe();

  constructor(
    private readonly reflector: Reflector,
    private readonly credits: CreditsService,
    private readonly openHolds: OpenHolds,
    private readonly guardedOperations: GuardedOperations,
    private readonly dataSource: DataSource,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const requirements = this.reflector.getAllAndOverride<CreditRequirement[] | undefined>(REQUIRED_CREDITS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!requirements?.length) return next.handle();

    const request = requestOf(context);
    const account = request.account;
    if (!account) throw new AuthException(AuthErrorCode.UNAUTHENTICATED, 'A valid bearer token is required.');

    const args = await this.validatedArguments(context, request);
    const charges = chargesOf(requirements, args);
    const operation = this.operationName(context);
    const idempotencyKey = this.idempotencyKey(request, operation);
    const together = await this.operationCharges(context, request, account.id);
    const responseKey = this.responseKey(context);
    const outcome = (status: FieldChargeOutcome['status'], charged: Charge[] = []) =>
      together?.outcomes.push({ field: responseKey, status, charges: charged.map(({ type, amount }) => ({ type, amount })) });

    let hold: Hold;
    try {
      hold = together?.holds.get(responseKey) ?? (await this.credits.hold(account.id, charges, { idempotencyKey, description: operation }));
    } catch (error) {
      outcome('REFUSED');
      throw error;
    }
    together?.holds.delete(responseKey);
    if (hold.replayed) {
      if (hold.status === 'CAPTURED') {
        outcome('REPLAYED');
        return of(hold.result ?? null);
      }
      throw new CreditsException(
        CreditsErrorCode.IDEMPOTENCY_CONFLICT,
        'A request with this Idempotency-Key is still being processed.',
      );
    }

    // The answer is kept for replays, which only a keyed request can have.
    const replayable = (result: unknown) => (idempotencyKey ? result : undefined);
    const call = new MeteredCall(hold.id, this.dataSource, (manager, actuals, result) =>
      this.credits.capture(account.id, hold.id, withinReserved(actuals, charges), replayable(result), manager),
    );
    attachMeteredCall(context, call);
    this.openHolds.add(hold.id, account.id);
    const onClose = () => {
      if (!request.res?.writableFinished) call.abort();
    };
    request.res?.once('close', onClose);
    /** Returns whether the hold was still this request's to settle (the shutdown releases what it cuts off). */
    const settled = () => {
      request.res?.off('close', onClose);
      return this.openHolds.remove(hold.id);
    };

    return next.handle().pipe(
      // Only the handler's own failure releases the hold: this comes before the capture below.
      catchError((error: unknown) => {
        const stillOpen = settled();
        if (call.settled) {
          // The handler's transaction committed its work and the charge before it failed: the charge stands.
          outcome('CHARGED', call.captured ?? charges);
          return throwError(() => error);
        }
        outcome('RELEASED');
        // Released already by the shutdown, whose database connections may be gone by now.
        if (!stillOpen) return throwError(() => error);
        const release = this.credits.release(account.id, hold.id).catch((releaseError: unknown) => {
          // The sweeper gives the credits back when the hold expires; the caller still sees the original error.
          this.logger.error(`Could not release hold ${hold.id}: ${String(releaseError)}`);
        });
        return from(release).pipe(mergeMap(() => throwError(() => error)));
      }),
      mergeMap((result) =>
        from(
          (async () => {
            if (call.captured) {
              settled();
              outcome('CHARGED', call.captured);
              return result;
            }
            const actuals = withinReserved(call.reported, charges);
            try {
              const captured = await this.credits.capture(account.id, hold.id, actuals, replayable(result));
              settled();
              outcome('CHARGED', captured);
            } catch (error) {
              if (error instanceof CreditsException) {
                // The ledger's own answer (a reported amount it refuses), not an outage: trying again changes nothing.
                settled();
                throw error;
              }
              // The work is done: it is charged, later if the ledger cannot be reached now. The caller gets its answer.
              request.res?.off('close', onClose);
              outcome('CHARGED', charges);
              this.captureLater(account.id, hold.id, actuals, replayable(result), error);
            }
            return result;
          })(),
        ),
      ),
    );
  }

  /**
   * Keeps trying to capture the hold of a handler that succeeded while the ledger could not be reached (about a
   * minute and a half, backing off), keeping the hold alive meanwhile. Past that the hold is left to the sweeper, and
   * the loss is logged for an operator.
   */
  private captureLater(
    accountId: string,
    holdId: string,
    actuals: Partial<Record<CreditType, number>>,
    result: unknown,
    firstError: unknown,
  ): void {
    this.logger.warn(`Could not capture hold ${holdId} yet, trying again: ${String(firstError)}`);
    const attempt = (tries: number) => {
      const timer = setTimeout(() => {
        this.credits.capture(accountId, holdId, actuals, result).then(
          () => this.openHolds.remove(holdId),
          (error: unknown) => {
            if (tries < CAPTURE_RETRIES) return attempt(tries + 1);
            this.openHolds.remove(holdId);
            this.logger.error(`Gave up capturing hold ${holdId} of ${accountId} after ${tries} tries: ${String(error)}`);
          },
        );
      }, Math.min(30_000, 500 * 2 ** tries));
      timer.unref();
    };
    attempt(0);
  }

  /**
   * For a GraphQL operation with more than one guarded root field: reserves all of them, in order, the first time
   * one of them runs. When one cannot be paid, what was reserved is given back and every guarded field of the
   * operation answers that refusal, so nothing runs. Holds of fields that never ran are released when the request
   * ends. Null for an operation with at most one guarded field, which reserves as it runs.
   */
  private async operationCharges(
    context: ExecutionContext,
    request: BillingRequest,
    accountId: string,
  ): Promise<OperationCharges | null> {
    if (context.getType<GqlContextType>() !== 'graphql') return null;
    const info = GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>();
    if (info.path.prev !== undefined) return null;
    let together = operations.get(request);
    if (!together) {
      const fields = this.guardedOperations.guardedFieldsOf(info);
      together = { ready: Promise.resolve(), holds: new Map(), outcomes: [] };
      operations.set(request, together);
      if (fields.length > 1) together.ready = this.reserveTogether(together, fields, request, accountId);
    }
    await together.ready;
    if (together.refusal) throw together.refusal;
    return together;
  }

  private async reserveTogether(
    together: OperationCharges,
    fields: GuardedField[],
    request: BillingRequest,
    accountId: string,
  ): Promise<void> {
    // Whatever the fields do not claim is given back when the request ends, also if it ends while this reserves.
    let ended = false;
    request.res?.once('close', () => {
      ended = true;
      void this.releaseUnclaimed(together, accountId);
    });
    const planned: Array<{ field: GuardedField; charges: Charge[] }> = [];
    try {
      for (const field of fields) {
        const args = await this.validate(field.guarded.owner, field.guarded.handler, true, field.args);
        planned.push({ field, charges: chargesOf(field.guarded.requirements, args) });
      }
      for (const { field, charges } of planned) {
        const operation = operationLabel(field.fieldName, field.responseKey);
        const hold = await this.credits.hold(accountId, charges, {
          idempotencyKey: this.idempotencyKey(request, operation),
          description: operation,
        });
        together.holds.set(field.responseKey, hold);
        if (!hold.replayed) this.openHolds.add(hold.id, accountId);
      }
    } catch (error) {
      together.refusal = error;
      together.outcomes.push(...fields.map((field) => ({ field: field.responseKey, status: 'REFUSED' as const, charges: [] })));
      await this.releaseUnclaimed(together, accountId);
      return;
    }
    if (ended) await this.releaseUnclaimed(together, accountId);
  }

  private async releaseUnclaimed(together: OperationCharges, accountId: string): Promise<void> {
    const unclaimed = [...together.holds.values()].filter((hold) => !hold.replayed);
    together.holds.clear();
    await Promise.all(
      unclaimed.map((hold) =>
        this.credits
          .release(accountId, hold.id)
          .catch((error: unknown) => this.logger.error(`Could not release hold ${hold.id}: ${String(error)}`))
          .finally(() => this.openHolds.remove(hold.id)),
      ),
    );
  }

  /** The handler's arguments, validated from their own sources exactly as Nest will pass them to it. */
  private async validatedArguments(context: ExecutionContext, request: BillingRequest): Promise<any> {
    const owner = context.getClass() as Type<unknown>;
    const handler = context.getHandler().name;
    if (context.getType<GqlContextType>() === 'graphql') {
      return this.validate(owner, handler, true, GqlExecutionContext.create(context).getArgs());
    }
    const sources: RestArguments = { body: request.body ?? {}, query: request.query ?? {}, params: request.params ?? {} };
    return this.validate(owner, handler, false, sources);
  }

  /**
   * Runs the application's validation on a handler's DTO arguments before anything is reserved. GraphQL: `args` is
   * the field's arguments. REST: `args` holds the body, query and route parameters; each DTO parameter is validated
   * against its own part, and that part is replaced by what validation made of it.
   */
  private async validate(owner: Type<unknown>, handler: string, graphql: boolean, args: any): Promise<any> {
    const result = graphql ? args : { ...(args as RestArguments) };
    for (const { source, data, metatype } of handlerArguments(owner, handler, graphql)) {
      if (!metatype || PRIMITIVES.includes(metatype)) continue;
      const whole = source === 'args' ? args : (args as RestArguments)[source];
      const value = await this.validation.transform(data ? whole?.[data] : whole, {
        type: 'body',
        metatype: metatype as Type<unknown>,
        data,
      });
      if (source !== 'args' && !data) result[source] = value;
    }
    return result;
  }

  private operationName(context: ExecutionContext): string {
    if (context.getType<GqlContextType>() === 'graphql') {
      const info = GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>();
      return operationLabel(info.fieldName, String(info.path.key));
    }
    return `${context.getClass().name}.${context.getHandler().name}`;
  }

  private responseKey(context: ExecutionContext): string {
    if (context.getType<GqlContextType>() !== 'graphql') return this.operationName(context);
    return String(GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>().path.key);
  }

  /** The client's key, scoped to the operation so one key may cover several guarded fields of a request. */
  private idempotencyKey(request: BillingRequest, operation: string): string | null {
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (!key) return null;
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH - 64) {
      throw new CreditsException(CreditsErrorCode.INVALID_CHARGE, 'The Idempotency-Key header is too long.', {
        field: 'Idempotency-Key',
      });
    }
    return `${operation}:${key}`;
  }
}

function chargesOf(requirements: CreditRequirement[], args: unknown): Charge[] {
  return requirements.map((requirement) => ({
    type: requirement.type,
    amount: typeof requirement.amount === 'function' ? requirement.amount(args) : requirement.amount,
  }));
}

/** What a handler reported it used, each type at most what was reserved for it: reporting more charges the reserve. */
function withinReserved(
  reported: Partial<Record<CreditType, number>>,
  charges: Charge[],
): Partial<Record<CreditType, number>> {
  const reserved = new Map(normalise(charges).map(({ type, amount }) => [type, amount]));
  const actuals: Partial<Record<CreditType, number>> = {};
  for (const [type, amount] of Object.entries(reported) as Array<[CreditType, number]>) {
    actuals[type] = Math.min(amount, reserved.get(type) ?? 0);
  }
  return actuals;
}

/** A guarded field's name for ledger rows and idempotency keys: the field, and its alias when it has one. */
function operationLabel(fieldName: string, responseKey: string): string {
  return responseKey === fieldName ? fieldName : `${fieldName} (${responseKey})`;
}
