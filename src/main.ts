import 'dotenv/config';
import { Logger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp, gracefulShutdown } from './app.setup';
import { AppConfig, ConfigValidationError, loadConfig } from './config/app-config';
import { resolveDatabase } from './database/database-url';
import { runMigrations } from './database/database.options';

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
    await database.embedded?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await app.listen(config.PORT);
  const readyAt = Date.now();
  logger.log(
    `GraphQL ready at http://localhost:${config.PORT}/graphql (started in ${readyAt - startedAt} ms: ` +
      `database ${databaseReadyAt - startedAt} ms, migrations ${migratedAt - databaseReadyAt} ms, ` +
      `application ${readyAt - migratedAt} ms)`,
  );
}

void bootstrap();
