import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import { catchError, from, mergeMap, Observable, of, throwError } from 'rxjs';
import { AuthErrorCode, AuthException } from '../auth/auth.exception';
import { BillingRequest, requestOf } from '../common/request-context';
import { createValidationPipe } from '../common/validation';
import { CreditsErrorCode, CreditsException } from './credits.exception';
import { Charge, CreditsService, MAX_IDEMPOTENCY_KEY_LENGTH } from './credits.service';
import { attachMeteredCall, MeteredCall } from './metered-call';
import { OpenHolds } from './open-holds';
import { CreditRequirement, REQUIRED_CREDITS } from './requires-credits.decorator';

const PRIMITIVES: unknown[] = [String, Number, Boolean, Object, Array];
/** @nestjs/graphql's GqlParamtype.ARGS, which the package does not export: the marker of @Args() parameters. */
const GRAPHQL_ARGS_PARAMTYPE = 3;

/**
 * Enforces @RequiresCredits. An interceptor alone does the whole job because it is the one Nest hook that sees
 * both sides of the handler: before it, the charges are reserved (all or none; a refusal means the handler never
 * runs); after it, the hold is captured with the handler's result, or released when the handler throws (also
 * after an await) or the client disconnected first. It runs after the AuthGuard, so the account is known.
 *
 * Nest validates arguments only after interceptors have started, so the interceptor validates the handler's DTO
 * arguments itself first: bad input is refused before anything is reserved and leaves no ledger row.
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

    const args = this.argumentsOf(context, request);
    await this.validateArguments(context, args);
    const charges: Charge[] = requirements.map((requirement) => ({
      type: requirement.type,
      amount: typeof requirement.amount === 'function' ? requirement.amount(args) : requirement.amount,
    }));

    const operation = this.operationName(context);
    const idempotencyKey = this.idempotencyKey(request, operation);
    const hold = await this.credits.reserve(account.id, charges, { idempotencyKey, description: operation });
    if (hold.replayed) {
      if (hold.status === 'CAPTURED') return of(hold.result ?? null);
      throw new CreditsException(
        CreditsErrorCode.IDEMPOTENCY_CONFLICT,
        'A request with this Idempotency-Key is still being processed.',
      );
    }

    const call = new MeteredCall(hold.id);
    attachMeteredCall(context, call);
    this.openHolds.add(hold.id, account.id);
    const onClose = () => {
      if (!request.res?.writableFinished) call.abort();
    };
    request.res?.once('close', onClose);
    const release = () =>
      this.credits
        .release(account.id, hold.id)
        .catch((error: unknown) => {
          // The sweeper gives the credits back when the hold expires; the caller still sees the original error.
          this.logger.error(`Could not release hold ${hold.id}: ${String(error)}`);
        })
        .finally(() => this.openHolds.remove(hold.id));

    return next.handle().pipe(
      mergeMap((result) =>
        from(
          (async () => {
            request.res?.off('close', onClose);
            if (call.aborted) {
              await release();
              return result;
            }
            try {
              // The answer is kept for replays, which only a keyed request can have.
              await this.credits.capture(account.id, hold.id, call.reported, idempotencyKey ? result : undefined);
            } finally {
              this.openHolds.remove(hold.id);
            }
            return result;
          })(),
        ),
      ),
      catchError((error: unknown) => {
        request.res?.off('close', onClose);
        return from(release()).pipe(mergeMap(() => throwError(() => error)));
      }),
    );
  }

  private argumentsOf(context: ExecutionContext, request: BillingRequest): Record<string, any> {
    if (context.getType<GqlContextType>() === 'graphql') return GqlExecutionContext.create(context).getArgs();
    return { ...(request.params ?? {}), ...(request.query ?? {}), ...(request.body ?? {}) };
  }

  /** Runs the application's validation on the handler's DTO arguments before anything is reserved. */
  private async validateArguments(context: ExecutionContext, args: Record<string, any>): Promise<void> {
    const handler = context.getHandler().name;
    const owner = context.getClass() as Type<unknown>;
    const graphql = context.getType<GqlContextType>() === 'graphql';
    const metadata: Record<string, { index: number; data?: string }> =
      Reflect.getMetadata(ROUTE_ARGS_METADATA, owner, handler) ?? {};
    const types: unknown[] = Reflect.getMetadata('design:paramtypes', owner.prototype, handler) ?? [];
    const validated: number[] = graphql
      ? [GRAPHQL_ARGS_PARAMTYPE]
      : [RouteParamtypes.BODY, RouteParamtypes.QUERY, RouteParamtypes.PARAM];

    for (const [key, { index, data }] of Object.entries(metadata)) {
      const paramtype = Number(key.split(':')[0]);
      const metatype = types[index] as Type<unknown> | undefined;
      if (!validated.includes(paramtype) || !metatype || PRIMITIVES.includes(metatype)) continue;
      const value = data ? args[data] : args;
      await this.validation.transform(value, { type: 'body', metatype, data });
    }
  }

  private operationName(context: ExecutionContext): string {
    if (context.getType<GqlContextType>() === 'graphql') {
      const info = GqlExecutionContext.create(context).getInfo<{ fieldName: string; path: { key: string | number } }>();
      return info.path.key === info.fieldName ? info.fieldName : `${info.fieldName} (${String(info.path.key)})`;
    }
    return `${context.getClass().name}.${context.getHandler().name}`;
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
