import { INestApplication, Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import { CONTENT_SECURITY_POLICY } from './common/content-security-policy';
import { rejectNulMiddleware } from './common/nul-characters';
import { AppConfig } from './config/app-config';
import { OpenHolds } from './credits/open-holds';
import { InFlightRequests } from './observability/in-flight-requests';
import { createLogger, NestLogger, requestLogging } from './observability/logging';

/** HTTP-level setup shared by the service and the tests: logs, security headers, CORS and the body limit. */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  const logger = createLogger(config);
  if (config.NODE_ENV !== 'test') app.useLogger(new NestLogger(logger));
  app.use(requestLogging(logger));
  app.use(
    helmet({
      // The dashboard and the GraphQL IDE are this origin's own files: nothing is loaded from elsewhere. (The IDE's
      // page adds inline styles for its editors: see GRAPHQL_IDE_CSP.)
      contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.enableCors({ origin: config.corsOrigins, credentials: true });
  app.useBodyParser('json', { limit: config.BODY_LIMIT_BYTES });
  app.useBodyParser('urlencoded', { limit: config.BODY_LIMIT_BYTES, extended: true });
  app.use(rejectNulMiddleware(['/graphql', '/webhooks/stripe']));
  // The client IP (rate limits, logs) is the connection's peer unless it is one of the configured proxies.
  app.set('trust proxy', config.trustProxy);
  // Answers are per caller and per operation: an ETag (a hash of every body) would never be matched.
  app.set('etag', false);
}

/**
 * SIGTERM: stop accepting connections, let in-flight requests and guarded handlers finish (up to SHUTDOWN_GRACE_MS
 * in all), release the holds of those that did not, then close everything (cron, database pool).
 */
export async function gracefulShutdown(app: INestApplication, config: AppConfig): Promise<void> {
  const logger = new Logger('Shutdown');
  const server = app.getHttpServer() as Server;
  server.close();
  server.closeIdleConnections();
  const deadline = Date.now() + config.SHUTDOWN_GRACE_MS;
  const unfinished = await app.get(InFlightRequests).drain(config.SHUTDOWN_GRACE_MS);
  if (unfinished > 0) logger.warn(`${unfinished} request(s) still running after ${config.SHUTDOWN_GRACE_MS} ms`);
  // A guarded handler whose client hung up is still working: it is charged when it succeeds, so it gets the rest of
  // the grace period too.
  const openHolds = app.get(OpenHolds);
  await openHolds.drain(deadline - Date.now());
  await openHolds.releaseAll();
  server.closeAllConnections();
  await app.close();
  logger.log('Stopped');
}
