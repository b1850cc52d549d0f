import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { GqlContextType, GqlExceptionFilter } from '@nestjs/graphql';
import type { Response } from 'express';
import { GraphQLError } from 'graphql';
import { toClientError } from './error-mapping';

/**
 * The one place where errors become answers: module exceptions get their public code and HTTP status, validation
 * failures become BAD_USER_INPUT, and anything unexpected is logged and answered as INTERNAL_SERVER_ERROR without
 * internals.
 */
@Catch()
export class AllExceptionsFilter implements GqlExceptionFilter, ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): GraphQLError | void {
    const client = toClientError(exception);
    if (!client) this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : exception);

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
}
