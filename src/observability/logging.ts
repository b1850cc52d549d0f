import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';

const PINO_LEVEL: Record<AppConfig['LOG_LEVEL'], string> = {
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

/** The parsed query string of a logged request, redacted as its URL is. */
function redactQuery(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(query).map(([name, value]) => [
      name,
      isCredentialParam(name) ? REDACTED : typeof value === 'string' ? value.replace(JWT, REDACTED) : value,
    ]),
  );
}

/** pino-http's serialized request, with its URL and query redacted. */
export function redactRequest<T extends { url?: unknown; query?: unknown }>(req: T): T {
  const redacted = { ...req };
  if (typeof req.url === 'string') redacted.url = redactUrl(req.url);
  if (req.query && typeof req.query === 'object') redacted.query = redactQuery(req.query as Record<string, unknown>);
  return redacted;
}

/**
 * Structured JSON logs (pretty in development), one line per request with its id (an incoming X-Request-Id is
 * kept, otherwise one is made and returned). Credentials never reach a log line.
 */
export function loggingOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: PINO_LEVEL[config.LOG_LEVEL],
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["stripe-signature"]',
          'req.headers["idempotency-key"]',
          'res.headers["set-cookie"]',
        ],
        censor: REDACTED,
      },
      serializers: { req: redactRequest },
      autoLogging: { ignore: (req: IncomingMessage) => req.url === '/healthz' || req.url === '/metrics' },
      transport:
        config.NODE_ENV === 'development'
          ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } }
          : undefined,
    },
  };
}
