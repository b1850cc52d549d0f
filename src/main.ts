import 'dotenv/config';
import { Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { configureApp, gracefulShutdown } from './app.setup';
import { LOCAL_STRIPE_REFUSED, LocalStripe, localStripeMode } from './billing/local-stripe/local-stripe.bootstrap';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config';
import { resolveDatabase } from './database/database-url';
import { runMigrations } from './database/database.options';
import { PlansService } from './plans/plans.service';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function bootstrap(): Promise<void> {
  const startedAt = Date.now();
  const config = readConfig();
  const logger = new Logger('Bootstrap');
  Logger.overrideLogger(LEVELS.slice(0, LEVELS.indexOf(config.LOG_LEVEL) + 1));

  const stripeMode = localStripeMode(config);
  if (stripeMode === 'refused') {
    process.stderr.write(`${LOCAL_STRIPE_REFUSED}\n`);
    process.exit(1);
  }
  // Points the configuration at the local Stripe before anything reads it.
  const localStripe = stripeMode === 'on' ? await LocalStripe.start(config) : null;

  const database = await resolveDatabase(config);
  const databaseReadyAt = Date.now();
  // Without its database the service can only answer 503: restart PostgreSQL, or exit so a supervisor restarts both.
  database.embedded?.supervise((error) => {
    logger.fatal(error.message);
    process.exit(1);
  });
  const applied = await runMigrations(database.url);
  if (applied.length) logger.log(`Applied migrations: ${applied.join(', ')}`);
  const migratedAt = Date.now();

  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, database.url), {
    rawBody: true,
    bufferLogs: true,
  });
  configureApp(app, config);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: shutting down`);
    await gracefulShutdown(app, config);
    await localStripe?.stop();
    await database.embedded?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  // The catalog exists before the first answer: health says ready only when a purchase can start.
  if (localStripe) await localStripe.syncCatalog(config, app.get(PlansService));
  await app.listen(config.PORT);
  if (localStripe) {
    const { port } = app.getHttpServer().address() as AddressInfo;
    localStripe.deliverWebhooksTo(`http://127.0.0.1:${port}`);
    logger.warn(
      `!!! Payments are simulated by a local Stripe at ${localStripe.url} (no STRIPE_SECRET_KEY): nothing is charged. ` +
        `Checkout pages and an admin panel to refund, dispute, renew and cancel are served there. !!!`,
    );
  }
  const readyAt = Date.now();
  logger.log(
    `GraphQL ready at http://localhost:${config.PORT}/graphql, the dashboard at http://localhost:${config.PORT}/billing ` +
      `(started in ${readyAt - startedAt} ms: ` +
      `database ${databaseReadyAt - startedAt} ms, migrations ${migratedAt - databaseReadyAt} ms, ` +
      `application ${readyAt - migratedAt} ms)`,
  );
}

void bootstrap();
