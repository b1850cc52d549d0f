import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/database/free-port';

/** Server connections per database and user unless told otherwise: fewer than the service's pool, so they are shared. */
const DEFAULT_POOL_SIZE = 10;
const START_TIMEOUT_MS = 10_000;

export interface PgBouncer {
  port: number;
  /** "PgBouncer 1.18.0" */
  version: string;
  poolSize: number;
  /** The same database and credentials as `url` (a URL of the server behind it), through the pooler. */
  route(url: string): string;
  stop(): Promise<void>;
}

/** The pgbouncer binary: on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
export function findPgBouncer(): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  return directories.map((directory) => path.join(directory, 'pgbouncer')).find((candidate) => existsSync(candidate));
}

const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;

/**
 * Starts PgBouncer in the foreground, in transaction pooling mode, on a free port of 127.0.0.1, in front of the
 * PostgreSQL server of `serverUrl`: every database of that server is reached under its own name, as the URL's user
 * (SCRAM with the URL's password). Run as root, it runs as `nobody`, as it refuses to run as root.
 */
export async function startPgBouncer(serverUrl: string, options: { poolSize?: number } = {}): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (!binary) {
    throw new Error(
      'PgBouncer is not installed (looked on PATH, in /usr/sbin and /usr/local/sbin). Install it, for example with ' +
        '`apt-get install pgbouncer` on Debian or Ubuntu or `brew install pgbouncer` on macOS.',
    );
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  const server = new URL(serverUrl);
  const port = await freePort();
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  const directory = mkdtempSync(path.join(os.tmpdir(), 'pgbouncer-'));
  // Readable by the user it runs as.
  chmodSync(directory, 0o755);
  const file = (name: string, content: string) => {
    const target = path.join(directory, name);
    writeFileSync(target, content, { mode: 0o644 });
    return target;
  };
  const users = file('users.txt', `${quote(decodeURIComponent(server.username))} ${quote(decodeURIComponent(server.password))}\n`);
  const config = file(
    'pgbouncer.ini',
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${users}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'reserve_pool_size = 0',
      'max_client_conn = 1000',
      '',
    ].join('\n'),
  );
  const child = spawn(binary, [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8_000));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    await listening(child, port);
  } catch (error) {
    await stop();
    throw new Error(`${version} did not start on port ${port}: ${(error as Error).message}\n${output}`);
  }
  return {
    port,
    version,
    poolSize,
    route(url) {
      const routed = new URL(url);
      routed.hostname = '127.0.0.1';
      routed.port = String(port);
      return routed.toString();
    },
    stop,
  };
}

/** Resolves once something accepts connections on the port; fails if the process exits first. */
async function listening(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.signalCode ?? child.exitCode})`);
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => socket.end(() => resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened after ${START_TIMEOUT_MS} ms`);
}
