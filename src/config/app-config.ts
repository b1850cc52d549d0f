import { Logger } from '@nestjs/common';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';
import { validateCronExpression } from 'cron';
import { isIP } from 'node:net';

export const DEVELOPMENT_JWT_SECRET = 'development-only-secret-change-me';

const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * The service's whole configuration, read from the environment once at start-up. Every variable is listed in
 * `.env.example`; a bad value stops the service with a message naming the variable.
 */
export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /** A PostgreSQL connection string; without it an embedded PostgreSQL is started with its data under `.data/`. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** Port of the embedded PostgreSQL; 0 picks a free one. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  EMBEDDED_POSTGRES_PORT = 0;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  /**
   * Whether each connection keeps the ledger's statements prepared (named) and only binds and runs them. Off for a
   * pooler that moves statements between server connections and cannot follow named ones, such as PgBouncer before
   * 1.21 in transaction pooling mode: every call is then parsed and planned again.
   */
  @Transform(({ value }) => (value === 'true' || value === 'false' ? value === 'true' : emptyToUndefined({ value })))
  @IsOptional()
  @IsBoolean({ message: 'DATABASE_PREPARED_STATEMENTS must be true or false' })
  DATABASE_PREPARED_STATEMENTS?: boolean;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters long' })
  JWT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'JWT_JWKS_URL must be an http(s) URL' })
  JWT_JWKS_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /** Longest accepted token lifetime (`exp` − `iat`, or `exp` − now without `iat`); a token without `exp` is refused. */
  @Type(() => Number)
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  JWT_MAX_LIFETIME_SECONDS = 86_400;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(sk|rk)_(test|live)_\w+$/, { message: 'STRIPE_SECRET_KEY must look like sk_test_... or sk_live_...' })
  STRIPE_SECRET_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^whsec_\w+$/, { message: 'STRIPE_WEBHOOK_SECRET must look like whsec_...' })
  STRIPE_WEBHOOK_SECRET?: string;

  /** An alternative Stripe API address, such as a local Stripe-compatible server in tests. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'STRIPE_API_BASE must be an http(s) URL' })
  STRIPE_API_BASE?: string;

  /**
   * The local Stripe of development: unset, it starts when STRIPE_SECRET_KEY is not set and NODE_ENV is not
   * production; true starts it in place of Stripe (never allowed in production); false never starts it.
   */
  @Transform(({ value }) => (value === 'true' || value === 'false' ? value === 'true' : emptyToUndefined({ value })))
  @IsOptional()
  @IsBoolean({ message: 'LOCAL_STRIPE must be true or false' })
  LOCAL_STRIPE?: boolean;

  /** Port of the local Stripe (its API, checkout page and admin panel); 0 picks a free one. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  LOCAL_STRIPE_PORT = 0;

  /** Set at start-up when payments are simulated by the local Stripe: its address. Not read from the environment. */
  declare localStripeUrl?: string;

  /** How long one Stripe API call may take before the caller gets STRIPE_UNAVAILABLE. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  STRIPE_TIMEOUT_MS = 10_000;

  /** How long a past-due subscription keeps its paid plan before the account has the FREE limits until it pays. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(8760)
  PAST_DUE_GRACE_HOURS = 72;

  /** The frontend's address, for checkout return pages and upgrade / purchase links. */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }, { message: 'APP_URL must be an http(s) URL' })
  APP_URL = 'http://localhost:3000';

  @IsString()
  CREDITS_CRON = '* * * * *';

  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(86_400)
  HOLD_TTL_SECONDS = 300;

  /** Wallet credits paid for one MESSAGE unit once the period's allowance is used up; 0 disables wallet payment. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  WALLET_RATE_MESSAGE = 1;

  /** Wallet credits paid for one INTEGRATION unit once the period's allowance is used up; 0 disables it. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  WALLET_RATE_INTEGRATION = 1;

  /** Origins allowed to call the API from a browser, comma-separated; defaults to APP_URL's origin. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /** GraphQL introspection; on outside production unless set. */
  @Transform(({ value }) => (value === undefined || value === '' ? undefined : value === 'true' || value === true))
  @IsOptional()
  @IsBoolean()
  GRAPHQL_INTROSPECTION?: boolean;

  /** The GraphQL IDE (GraphiQL) a browser gets at /graphql; on whenever introspection is, unless set. */
  @Transform(({ value }) => (value === undefined || value === '' ? undefined : value === 'true' || value === true))
  @IsOptional()
  @IsBoolean()
  GRAPHQL_IDE?: boolean;

  /**
   * The dashboard's "sign in as" form and POST /billing/dev-token, which mint a token for any account: on in
   * development unless set, off otherwise, and refused in production.
   */
  @Transform(({ value }) => (value === undefined || value === '' ? undefined : value === 'true' || value === true))
  @IsOptional()
  @IsBoolean()
  DEV_SIGN_IN?: boolean;

  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(50)
  GRAPHQL_MAX_DEPTH = 10;

  /** Each field costs 1; an operation above this (an alias bomb, say) is refused before it runs. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(100_000)
  GRAPHQL_MAX_COMPLEXITY = 500;

  /** Most aliased fields in one operation. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  GRAPHQL_MAX_ALIASES = 50;

  /** Most lexical tokens in one operation's text: bounds the work of parsing and validating it. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  GRAPHQL_MAX_TOKENS = 5000;

  /** The largest request body accepted, in bytes. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  /** Requests per minute from one IP address (0: no limit). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  RATE_LIMIT_IP_PER_MINUTE = 1200;

  /** Requests per minute of one authenticated account (0: no limit). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  RATE_LIMIT_ACCOUNT_PER_MINUTE = 600;

  /**
   * Proxies in front of the service whose X-Forwarded-For is believed for the client IP: a number of hops, or
   * comma-separated addresses, CIDR ranges and `loopback` / `linklocal` / `uniquelocal`. Unset: none, the client IP is
   * the connection's peer.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  TRUSTED_PROXIES?: string;

  /** On SIGTERM, how long in-flight requests may finish before their holds are released and the process exits. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(120_000)
  SHUTDOWN_GRACE_MS = 10_000;

  /** Most ledger operations (consumptions; guarded holds and captures) settled in one transaction (1: none). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  LEDGER_BATCH_SIZE = 200;

  /** Most batches of each kind in flight at once per instance. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  LEDGER_BATCH_CONCURRENCY = 2;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  get isProduction(): boolean {
    return this.NODE_ENV === 'production';
  }

  get stripeConfigured(): boolean {
    return Boolean(this.STRIPE_SECRET_KEY);
  }

  /** Whether payments go to the local Stripe of development, where nothing is charged. */
  get paymentsSimulated(): boolean {
    return Boolean(this.localStripeUrl);
  }

  get preparedStatements(): boolean {
    return this.DATABASE_PREPARED_STATEMENTS ?? true;
  }

  get introspection(): boolean {
    return this.GRAPHQL_INTROSPECTION ?? !this.isProduction;
  }

  get graphqlIde(): boolean {
    return this.GRAPHQL_IDE ?? this.introspection;
  }

  /** Only with a shared secret to sign with: tokens of a JWKS issuer cannot be minted here. */
  get devSignIn(): boolean {
    return (this.DEV_SIGN_IN ?? this.NODE_ENV === 'development') && !this.isProduction && Boolean(this.JWT_SECRET);
  }

  /** The Express `trust proxy` setting for TRUSTED_PROXIES. */
  get trustProxy(): number | string[] | false {
    if (!this.TRUSTED_PROXIES) return false;
    if (/^\d+$/.test(this.TRUSTED_PROXIES.trim())) return Number(this.TRUSTED_PROXIES.trim());
    return this.TRUSTED_PROXIES.split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  }

  get corsOrigins(): string[] {
    const list = this.CORS_ORIGINS ?? new URL(this.APP_URL).origin;
    return list
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
  }
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) =>
      message.startsWith(error.property) ? message : `${error.property}: ${message}`,
    ),
  );
}

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyEntry(entry: string): boolean {
  if (PROXY_PRESETS.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Reads and validates the configuration; throws a ConfigValidationError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const raw = Object.fromEntries(Object.entries(env).filter(([key]) => known.includes(key)));
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const problems = describe(validateSync(config, { skipMissingProperties: false }));

  if (!validateCronExpression(config.CREDITS_CRON).valid) problems.push(`CREDITS_CRON: "${config.CREDITS_CRON}" is not a cron expression`);
  if (config.isProduction && !config.JWT_SECRET && !config.JWT_JWKS_URL) {
    problems.push('JWT_SECRET: required in production (or set JWT_JWKS_URL)');
  }
  const badProxies = typeof config.trustProxy === 'object' ? config.trustProxy.filter((entry) => !isProxyEntry(entry)) : [];
  if (badProxies.length) {
    problems.push(`TRUSTED_PROXIES: ${badProxies.join(', ')} is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
  }
  if (config.isProduction && config.DEV_SIGN_IN) {
    problems.push('DEV_SIGN_IN: not allowed in production (it lets anyone sign in as any account)');
  }
  if (config.STRIPE_SECRET_KEY && !config.STRIPE_WEBHOOK_SECRET) {
    problems.push('STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set');
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);

  if (!config.JWT_SECRET && !config.JWT_JWKS_URL) {
    config.JWT_SECRET = DEVELOPMENT_JWT_SECRET;
    if (config.NODE_ENV !== 'test') {
      new Logger('Config').warn(
        '!!! JWT_SECRET is not set: using the built-in development secret. Anyone can mint tokens for this ' +
          'instance. Set JWT_SECRET (or JWT_JWKS_URL) before exposing it; production refuses to start without. !!!',
      );
    }
  }
  return config;
}
