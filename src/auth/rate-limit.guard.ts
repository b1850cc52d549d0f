import { ExecutionContext, Injectable } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import { normalizeIp, SkipThrottle, ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerLimitDetail } from '@nestjs/throttler';
import { THROTTLER_SKIP } from '@nestjs/throttler/dist/throttler.constants';
import type { Response } from 'express';
import { BillingRequest, GraphQLContext } from '../common/request-context';

export const IP_THROTTLER = 'ip';
export const ACCOUNT_THROTTLER = 'account';

/** Exempts a controller or handler from both per-minute limits (health checks, metrics, Stripe's webhook). */
export const SkipRateLimits = () => SkipThrottle({ [IP_THROTTLER]: true, [ACCOUNT_THROTTLER]: true });

/** Each limit's verdict on one HTTP request: a GraphQL operation runs the guards once per resolver. */
const verdicts = new WeakMap<BillingRequest, Map<string, Promise<boolean>>>();

/**
 * Counts one of the per-minute limits once per HTTP request, whatever the number of resolvers it runs, in one
 * bucket per client (not per handler); a request refused by a limit stays refused for every resolver of it. A
 * refusal answers 429 with a standard `Retry-After` (seconds).
 */
abstract class PerRequestRateLimitGuard extends ThrottlerGuard {
  protected abstract readonly throttlerName: string;

  /** Who the request counts against, or undefined when this limit does not apply to it. */
  protected abstract trackerOf(req: BillingRequest): string | undefined;

  protected override getRequestResponse(context: ExecutionContext) {
    if (context.getType<GqlContextType>() === 'graphql') {
      const { req, res } = GqlExecutionContext.create(context).getContext<GraphQLContext>();
      return { req, res };
    }
    return super.getRequestResponse(context);
  }

  /**
   * This guard's one limit. The base class would look up every configured limit's per-handler overrides on each
   * request; these limits are per client, not per handler, and only exemptions (`SkipRateLimits`) are honoured.
   */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    const skip = this.reflector.getAllAndOverride<boolean | undefined>(THROTTLER_SKIP + this.throttlerName, [
      context.getHandler(),
      context.getClass(),
    ]);
    const throttler = this.throttlers.find(({ name }) => name === this.throttlerName);
    const limit = throttler?.limit as number | undefined;
    if (skip || !throttler || !limit || limit <= 0) return Promise.resolve(true);
    const { req } = this.getRequestResponse(context) as { req: BillingRequest };
    const tracker = this.trackerOf(req);
    if (tracker === undefined) return Promise.resolve(true);
    let byLimit = verdicts.get(req);
    if (!byLimit) verdicts.set(req, (byLimit = new Map()));
    let verdict = byLimit.get(this.throttlerName);
    if (!verdict) {
      const ttl = throttler.ttl as number;
      verdict = this.handleRequest({
        context,
        limit,
        ttl,
        throttler,
        blockDuration: ttl,
        getTracker: async () => tracker,
        generateKey: (_context, key, name) => `${name}:${key}`,
      });
      byLimit.set(this.throttlerName, verdict);
    }
    return verdict;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const { res } = this.getRequestResponse(context) as { res: Response };
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(detail.timeToBlockExpire))));
    return super.throwThrottlingException(context, detail);
  }
}

/**
 * The per-IP limit, checked before authentication so that requests with a bad or missing token count too. The IP
 * is the connection's peer unless TRUSTED_PROXIES says which proxies' X-Forwarded-For to believe.
 */
@Injectable()
export class IpRateLimitGuard extends PerRequestRateLimitGuard {
  protected readonly throttlerName = IP_THROTTLER;

  protected trackerOf(req: BillingRequest): string | undefined {
    // One IPv6 /64 is one client: rotating addresses inside it does not escape the limit.
    return `ip:${normalizeIp(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
  }
}

/** The per-account limit, checked after authentication; anonymous requests (the catalog) only count per IP. */
@Injectable()
export class AccountRateLimitGuard extends PerRequestRateLimitGuard {
  protected readonly throttlerName = ACCOUNT_THROTTLER;

  protected trackerOf(req: BillingRequest): string | undefined {
    return req.account ? `account:${req.account.id}` : undefined;
  }
}
