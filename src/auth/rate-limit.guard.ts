import { ExecutionContext, Injectable } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerRequest } from '@nestjs/throttler';
import { BillingRequest, GraphQLContext } from '../common/request-context';

export const IP_THROTTLER = 'ip';
export const ACCOUNT_THROTTLER = 'account';

/**
 * Two limits per minute: one per client IP, one per authenticated account. Runs after the AuthGuard, so the
 * account is known; anonymous requests (the catalog) only count against their IP.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override getRequestResponse(context: ExecutionContext) {
    if (context.getType<GqlContextType>() === 'graphql') {
      const { req, res } = GqlExecutionContext.create(context).getContext<GraphQLContext>();
      return { req, res };
    }
    return super.getRequestResponse(context);
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    if (props.limit <= 0) return true;
    if (props.throttler.name !== ACCOUNT_THROTTLER) return super.handleRequest(props);
    const { req } = this.getRequestResponse(props.context) as { req: BillingRequest };
    if (!req.account) return true;
    const accountId = req.account.id;
    return super.handleRequest({ ...props, getTracker: async () => `account:${accountId}` });
  }
}
