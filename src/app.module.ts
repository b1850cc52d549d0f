import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import type { DocumentNode } from 'graphql';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { GraphQLModule } from '@nestjs/graphql';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import path from 'node:path';
import { AuthModule } from './auth/auth.module';
import { RenewalCronModule } from './accounts/renewal-cron.module';
import { BillingModule } from './billing/billing.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { DateTimeScalar } from './common/date-time.scalar';
import { graphqlHttpStatusPlugin, keepHttpStatus } from './common/graphql-http-status.plugin';
import { chargeOutcomesPlugin } from './credits/charge-outcomes.plugin';
import { graphqlLimits } from './common/graphql-limits';
import { rejectNulPlugin } from './common/nul-characters';
import { describeRootTypes } from './common/root-type-descriptions';
import { GraphQLContext } from './common/request-context';
import { DatabaseClockModule } from './database/database-clock';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { CreditsModule } from './credits/credits.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { databaseOptions } from './database/database.options';
import { PlansModule } from './plans/plans.module';
import { ProjectsModule } from './projects/projects.module';
import { MetricsModule } from './observability/metrics.module';
import { ObservabilityModule } from './observability/observability.module';
import { UsageModule } from './usage/usage.module';

/**
 * Parsed and validated GraphQL documents kept for reuse, in Apollo's estimate of their size (the heap holds about four
 * times as much): a few thousand distinct operations. Clients send constant documents with variables, so a handful
 * of entries serve them all; documents that inline their values each take an entry, and the oldest give way.
 */
const DOCUMENT_CACHE_ESTIMATED_BYTES = 4 * 2 ** 20;

/** The committed schema: regenerated from the code whenever the service starts in development. */
export const SCHEMA_FILE = path.resolve(process.cwd(), 'schema.graphql');

/** What every entry point needs: configuration and clock, application events, metrics and the database. */
export function coreImports(config: AppConfig, databaseUrl: string) {
  return [
    ConfigModule.register(config),
    EventEmitterModule.forRoot(),
    MetricsModule,
    TypeOrmModule.forRoot({ ...databaseOptions(databaseUrl, config.DATABASE_POOL_SIZE), autoLoadEntities: true }),
    DatabaseClockModule,
  ];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    const development = config.NODE_ENV === 'development';
    const limits = graphqlLimits({
      maxDepth: config.GRAPHQL_MAX_DEPTH,
      maxCost: config.GRAPHQL_MAX_COMPLEXITY,
      maxAliases: config.GRAPHQL_MAX_ALIASES,
      maxTokens: config.GRAPHQL_MAX_TOKENS,
      suggestions: config.introspection,
    });
    return {
      module: AppModule,
      imports: [
        ...coreImports(config, databaseUrl),
        ScheduleModule.forRoot(),
        ObservabilityModule,
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: development ? SCHEMA_FILE : true,
          sortSchema: true,
          transformSchema: describeRootTypes,
          transformAutoSchemaFile: true,
          buildSchemaOptions: { scalarsMap: [{ type: Date, scalar: DateTimeScalar }] },
          playground: false,
          introspection: config.introspection,
          validationRules: limits.validationRules,
          parseOptions: limits.parseOptions,
          documentStore: new InMemoryLRUCache<DocumentNode>({ maxSize: DOCUMENT_CACHE_ESTIMATED_BYTES }),
          hideSchemaDetailsFromClientErrors: limits.hideSchemaDetailsFromClientErrors,
          plugins: [
            graphqlHttpStatusPlugin,
            chargeOutcomesPlugin,
            ...limits.plugins,
            rejectNulPlugin,
            // Browsers get the bundled GraphQL IDE instead (DashboardModule), which works offline.
            ApolloServerPluginLandingPageDisabled(),
          ],
          context: ({ req, res }: GraphQLContext) => ({ req, res }),
          formatError: keepHttpStatus,
          includeStacktraceInErrorResponses: false,
          // Our plugin decides: a wholly refused operation keeps its status (402, 401...), a partial one answers 200.
          preserveHttpStatusForExecutionErrors: false,
        }),
        PlansModule,
        CreditsModule,
        UsageModule,
        BillingModule,
        RenewalCronModule,
        ProjectsModule,
        AuthModule,
        DashboardModule.forRoot(config),
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useValue: createValidationPipe() },
      ],
    };
  }
}
