import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { GqlArgumentsHost, GqlContextType, GqlExceptionFilter } from '@nestjs/graphql';
import type { Response } from 'express';
import { GraphQLError } from 'graphql';
import { ClientError, toClientError } from './error-mapping';
import { BillingRequest, GraphQLContext } from './request-context';

/**
 * The one place where errors become answers: module exceptions get their public code and HTTP status, validation
 * failures become BAD_USER_INPUT, and anything unexpected is logged and answered as INTERNAL_SERVER_ERROR without
 * internals. Expected errors are logged as one line without a stack: a client's (4xx) at debug level, a
 * dependency's (503 and 502: the database or Stripe) as a warning; only the unexpected get their stack, as errors.
 */
@Catch()
export class AllExceptionsFilter implements GqlExceptionFilter, ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): GraphQLError | void {
    const client = toClientError(exception);
    this.log(client, exception, host);

    if (host.getType<GqlContextType>() === 'graphql') {
      if (!client) {
        return new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      }
      return new GraphQLError(client.message, {
        extensions: { code: client.code, http: { status: client.status }, ...client.details },
      });
    }

    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    if (!client) {
      response.status(500).json({ statusCode: 500, code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' });
      return;
    }
    response.status(client.status).json({
      statusCode: client.status,
      code: client.code,
      message: client.message,
      ...client.details,
    });
  }

  private log(client: ClientError | undefined, exception: unknown, host: ArgumentsHost): void {
    const req =
      host.getType<GqlContextType>() === 'graphql'
        ? GqlArgumentsHost.create(host).getContext<GraphQLContext>()?.req
        : host.switchToHttp().getRequest<BillingRequest>();
    const where = `request ${(req as { id?: string } | undefined)?.id ?? '-'}${req?.account ? `, account ${req.account.id}` : ''}`;
    if (!client) {
      const stack = exception instanceof Error ? exception.stack ?? exception.message : String(exception);
      this.logger.error(`${where}: ${stack}`);
    } else if (client.status >= 500) {
      this.logger.warn(`${client.code} (${client.status}, ${where}): ${client.message}`);
    } else {
      this.logger.debug(`${client.code} (${client.status}, ${where}): ${client.message}`);
    }
  }
}
