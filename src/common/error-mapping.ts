import { HttpException, HttpStatus } from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { DomainException } from './domain.exception';

export interface ClientError {
  /** GraphQL `extensions.code`, also the `code` of a REST error body. */
  code: string;
  status: number;
  message: string;
  details: Record<string, unknown>;
}

/** The codes of HTTP errors that carry no code of their own, by status. */
export const HTTP_STATUS_CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
};

function validationMessages(response: unknown): string[] | undefined {
  const message = (response as { message?: unknown } | null)?.message;
  if (Array.isArray(message)) return message.map(String);
  return undefined;
}

/** PostgreSQL unreachable, restarting or out of connections: the request may be retried. */
const UNAVAILABLE_SQLSTATES = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_MESSAGES =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|the database system is (starting up|shutting down|in recovery mode)/i;
/**
 * TypeORM's errors for a connection that went away mid-transaction: the query runner was released under the
 * transaction when its connection failed, so the next statement (or the COMMIT) cannot run.
 */
const UNAVAILABLE_ERROR_NAMES = new Set([
  'QueryRunnerAlreadyReleasedError',
  'QueryRunnerProviderAlreadyReleasedError',
  'ConnectionIsNotSetError',
  'CannotExecuteNotConnectedError',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  const candidate = error as { code?: unknown; message?: unknown; driverError?: unknown } | null;
  if (!candidate || typeof candidate !== 'object') return false;
  const code = typeof candidate.code === 'string' ? candidate.code : '';
  if (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_MESSAGES.test(code)) return true;
  if (error instanceof Error && UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
  if (typeof candidate.message === 'string' && UNAVAILABLE_MESSAGES.test(candidate.message)) return true;
  return candidate.driverError !== undefined && candidate.driverError !== error && isDatabaseUnavailable(candidate.driverError);
}

/**
 * Turns anything thrown while serving a request into what the client sees, or undefined for an unexpected error,
 * which the caller logs and answers as INTERNAL_SERVER_ERROR without internals.
 */
export function toClientError(error: unknown): ClientError | undefined {
  if (isDatabaseUnavailable(error)) {
    return {
      code: 'SERVICE_UNAVAILABLE',
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: 'The service cannot reach its database right now; nothing was changed. Please retry shortly.',
      details: {},
    };
  }
  if (error instanceof DomainException) {
    const form = error.publicForm;
    const details = form.code === error.code ? error.details : { reason: error.code, ...error.details };
    return { code: form.code, status: form.status, message: error.message, details };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === HttpStatus.SERVICE_UNAVAILABLE) {
      // A failed health check: its report is the answer.
      const report = error.getResponse();
      return {
        code: 'SERVICE_UNAVAILABLE',
        status,
        message: error.message,
        details: typeof report === 'object' && report !== null ? (report as Record<string, unknown>) : {},
      };
    }
    if (status >= 500) return undefined;
    const messages = validationMessages(error.getResponse());
    return {
      code: HTTP_STATUS_CODES[status] ?? 'BAD_REQUEST',
      status,
      message: messages ? `Invalid input: ${messages.join('; ')}` : error.message,
      details: messages ? { validationErrors: messages } : {},
    };
  }
  // Errors of the HTTP layer itself (body-parser: body too large, malformed JSON) carry their status.
  const http = error as { status?: unknown; expose?: unknown; message?: unknown } | null;
  if (http && typeof http.status === 'number' && http.status >= 400 && http.status < 500 && http.expose === true) {
    return {
      code: HTTP_STATUS_CODES[http.status] ?? 'BAD_REQUEST',
      status: http.status,
      message: typeof http.message === 'string' ? http.message : 'Bad request',
      details: {},
    };
  }
  if (error instanceof GraphQLError && error.extensions?.code && error.extensions.code !== 'INTERNAL_SERVER_ERROR') {
    return {
      code: String(error.extensions.code),
      status: HttpStatus.BAD_REQUEST,
      message: error.message,
      details: {},
    };
  }
  return undefined;
}

