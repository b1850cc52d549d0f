import { ExecutionContext } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import type { Request, Response } from 'express';
import { AuthenticatedAccount } from '../auth/role.enum';

/** What the service adds to an incoming request. */
export interface BillingRequest extends Request {
  account?: AuthenticatedAccount;
}

export interface GraphQLContext {
  req: BillingRequest;
  res: Response;
}

/** The HTTP request behind a GraphQL resolver or a REST handler. */
export function requestOf(context: ExecutionContext): BillingRequest {
  if (context.getType<GqlContextType>() === 'graphql') {
    return GqlExecutionContext.create(context).getContext<GraphQLContext>().req;
  }
  return context.switchToHttp().getRequest<BillingRequest>();
}
