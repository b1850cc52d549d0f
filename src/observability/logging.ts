import { LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { DestinationStream, Logger } from 'pino';
import { AppConfig } from '../config/app-config';

const PINO_LEVEL: Record<AppConfig['LOG_LEVEL'], pino.Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

const REDACTED = '[redacted]';
/** Query parameters that carry credentials. */
const CREDENTIAL_PARAMS =
  /^(access_?token|id_?token|refresh_?token|token|jwt|bearer|auth|authorization|api_?key|key|secret|client_secret|password|passwd|pwd|session|signature|sig|code)$/i;
/** A JWT (three base64url parts), wherever it appears. */
const JWT = /\beyJ[\w-]*\.[\w-]+\.[\w-]*/g;

function isCredentialParam(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, ' '));
  } catch {
    // a malformed escape: judge the name as it came
  }
  return CREDENTIAL_PARAMS.test(name.trim().replace(/\[\]$/, ''));
}

/** A request URL fit for a log line: credential parameters and anything shaped like a JWT are redacted. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  const path = (queryStart < 0 ? url : url.slice(0, queryStart)).replace(JWT, REDACTED);
  if (queryStart < 0) return path;
  const query = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const separator = pair.indexOf('=');
      if (separator >= 0 && isCredentialParam(pair.slice(0, separator))) return `${pair.slice(0, separator)}=${REDACTED}`;
      return pair.replace(JWT, REDACTED);
    })
    .join('&');
  return `${path}?${query}`;
}

/**
 * The service's one logger: structured JSON lines on standard output, pretty-printed by a worker thread in
 * development. `destination` replaces standard output (tests read the lines).
 */
export function createLogger(config: AppConfig, destination?: DestinationStream): Logger {
  const options = { level: PINO_LEVEL[config.LOG_LEVEL], base: undefined };
  if (destination) return pino(options, destination);
  return config.NODE_ENV === 'development'
    ? pino({
        ...options,
        transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } },
      })
    : pino(options);
}

/** Nest's own log calls (`new Logger(context).log(...)`) as lines of the service's logger. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    // Nest passes (message, stack, context) for errors; a stack is kept only when one was given.
    const [stack, context] = rest.length >= 2 ? rest : [undefined, rest[0]];
    this.write('error', message, context === undefined ? [] : [context], typeof stack === 'string' ? stack : undefined);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[], stack?: string): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (message instanceof Error) {
      this.logger[level]({ context, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ context, ...message });
    } else {
      this.logger[level]({ context, stack }, String(message));
    }
  }
}

/** An incoming X-Request-Id when it is a sane one, otherwise a new id. */
function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
}

type LoggedRequest = IncomingMessage & { id?: string; originalUrl?: string; account?: { id: string } };

/** Health checks and metric scrapes are answered without a log line. */
const UNLOGGED = /^\/(healthz|metrics)(\?|$)/;

/**
 * One line per request when it ends: request id (an incoming X-Request-Id is kept, otherwise one is made; both are
 * returned), method, path with credentials redacted, status, duration in milliseconds, the account when one was
 * authenticated, and `aborted` when the client hung up first. Nothing is built for a request until its line is
 * written, and nothing at all when the level leaves request lines out; headers are never logged.
 */
export function requestLogging(logger: Logger) {
  return (req: LoggedRequest, res: ServerResponse, next: () => void): void => {
    const id = requestIdOf(req);
    req.id = id;
    res.setHeader('x-request-id', id);
    if (logger.isLevelEnabled('info') && !UNLOGGED.test(req.url ?? '')) {
      const started = performance.now();
      res.once('close', () => {
        const status = res.statusCode;
        logger[status >= 500 ? 'error' : 'info']({
          reqId: id,
          method: req.method,
          path: redactUrl(req.originalUrl ?? req.url ?? ''),
          status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          account: req.account?.id,
          aborted: res.writableFinished ? undefined : true,
        }, 'request completed');
      });
    }
    next();
  };
}
