import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BrowserPage } from './browser-assets';
import { DASHBOARD_PAGE, DashboardController } from './dashboard.controller';
import { DevTokenController } from './dev-token.controller';
import { GRAPHQL_IDE_PAGE, GraphqlIdeMiddleware } from './graphql-ide.middleware';

/**
 * What the service serves to browsers itself: the billing dashboard under /billing, the GraphQL IDE at /graphql
 * (when GRAPHQL_IDE is on) and, in development, the dashboard's "sign in as".
 */
@Module({})
export class DashboardModule implements NestModule {
  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DashboardModule,
      // The dev token route before the catch-all page route, so POST /billing/dev-token reaches it.
      controllers: [...(config.devSignIn ? [DevTokenController] : []), DashboardController],
      providers: [
        { provide: DASHBOARD_PAGE, useFactory: () => new BrowserPage('dashboard') },
        // Read (and compressed) only where the IDE is served: it is most of the bytes.
        ...(config.graphqlIde ? [{ provide: GRAPHQL_IDE_PAGE, useFactory: () => new BrowserPage('graphiql') }] : []),
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    if (!this.config.graphqlIde) return;
    consumer
      .apply(GraphqlIdeMiddleware)
      .forRoutes({ path: 'graphql', method: RequestMethod.GET }, { path: 'graphql/assets/*file', method: RequestMethod.GET });
  }
}
