import { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { Role } from '../../src/auth/role.enum';
import { signToken } from '../../src/auth/token.service';
import { Clock } from '../../src/common/clock';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { ReconciliationService } from '../../src/credits/reconciliation.service';
import { createTestDatabase, testPooler } from './database';
import { TEST_LOG_LEVEL, TEST_LOG_LEVELS } from './log-level';
import { TEST_JWT_SECRET } from './secrets';

export { TEST_JWT_SECRET };
export const TEST_APP_URL = 'https://app.example.test';

/**
 * A clock tests can move. Unless set, it is the service's Clock: it follows the database's clock. `hostSkewMs` makes
 * this instance's host clock run that far ahead (behind when negative), as a badly set machine's would.
 */
export class TestClock extends Clock {
  private current: Date | null = null;

  constructor(private readonly hostSkewMs = 0) {
    super();
  }

  override now(): Date {
    return this.current ? new Date(this.current) : super.now();
  }

  override hostNow(): number {
    return Date.now() + this.hostSkewMs;
  }

  set(at: Date | string): void {
    this.current = new Date(at);
  }

  advance(milliseconds: number): void {
    this.current = new Date(this.now().getTime() + milliseconds);
  }
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; extensions: Record<string, any>; path?: string[] }>;
}

export interface TestApp {
  app: INestApplication;
  databaseUrl: string;
  config: AppConfig;
  dataSource: DataSource;
  clock: TestClock;
  server: Server;
  token(accountId: string, roles?: Role[]): Promise<string>;
  /** Posts a GraphQL operation as `as` (an account id, or a token when it contains dots); no `as`: anonymous. */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { as?: string; roles?: Role[]; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<T>>;
  /** Fails the test unless every balance equals its ledger and nothing is negative. */
  expectLedgerReconciles(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Boots the real AppModule against a fresh database of its own (plus test-only modules, if given), through the spec
 * file's pooler if it has one. With `sameDatabaseAs`, a second instance of the service shares another's database,
 * as instances behind a load balancer do.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  extraModules: Type<unknown>[] = [],
  options: { sameDatabaseAs?: TestApp; hostClockSkewMs?: number } = {},
): Promise<TestApp> {
  const database = options.sameDatabaseAs
    ? { url: options.sameDatabaseAs.databaseUrl, drop: async () => undefined }
    : await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    APP_URL: TEST_APP_URL,
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '20',
    LOG_LEVEL: TEST_LOG_LEVEL,
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_ACCOUNT_PER_MINUTE: '0',
    // PgBouncer before 1.21 cannot follow named statements in transaction pooling mode.
    ...(testPooler() ? { DATABASE_PREPARED_STATEMENTS: 'false' } : {}),
    ...env,
  });
  const clock = new TestClock(options.hostClockSkewMs);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config, database.url), ...extraModules] })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ rawBody: true, logger: TEST_LOG_LEVELS });
  configureApp(app, config);
  await app.init();
  const server = app.getHttpServer() as Server;
  const tokens = new Map<string, string>();

  const token = async (accountId: string, roles: Role[] = []) => {
    const key = `${accountId}|${roles.join(',')}`;
    if (!tokens.has(key)) tokens.set(key, await signToken(TEST_JWT_SECRET, accountId, roles));
    return tokens.get(key)!;
  };

  return {
    app,
    databaseUrl: database.url,
    config,
    clock,
    server,
    dataSource: app.get(DataSource),
    token,
    async gql(query, variables = {}, options = {}) {
      const call = request(server).post('/graphql').set('content-type', 'application/json');
      if (options.as) {
        const bearer = options.as.includes('.') ? options.as : await token(options.as, options.roles);
        call.set('authorization', `Bearer ${bearer}`);
      }
      for (const [name, value] of Object.entries(options.headers ?? {})) call.set(name, value);
      const response = await call.send({ query, variables });
      return { status: response.status, data: response.body.data ?? null, errors: response.body.errors };
    },
    async expectLedgerReconciles() {
      const report = await app.get(ReconciliationService).reconcile();
      expect(report.problems).toEqual([]);
    },
    async close() {
      // A test may have shut the application down already (graceful shutdown).
      if (app.get(DataSource).isInitialized) await app.close();
      await database.drop();
    },
  };
}
