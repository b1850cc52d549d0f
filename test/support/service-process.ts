import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/database/free-port';
import { TEST_JWT_SECRET } from './secrets';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'src', 'main.js');
const POLL_MS = 50;

export interface ServiceProcessOptions {
  /** Its working directory; `'temp'`: a new one of its own (0755, as the embedded PostgreSQL needs), removed on stop. */
  cwd?: string;
  /** Which of this process's environment variables it inherits: all unless told. */
  inherit?: (name: string) => boolean;
  /** The host its URL names (a browser's origin must match APP_URL). */
  host?: string;
  /** How long it may take to answer its health check. */
  readyTimeoutMs?: number;
}

/**
 * The real service as its own process (the compiled `npm start` entry point): production settings unless `env` says
 * otherwise, for crash, multi-instance, development and browser tests.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private workDir?: string;
  /** Everything it wrote to stdout and stderr. */
  output = '';
  port = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly options: ServiceProcessOptions = {},
  ) {}

  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  get log(): string {
    return this.output.slice(-4000);
  }

  /** Starts it and resolves once it answers its health check. */
  async start(): Promise<this> {
    const child = await this.spawn();
    const attempts = Math.ceil((this.options.readyTimeoutMs ?? 10_000) / POLL_MS);
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (child.exitCode !== null) throw new Error(`the service exited during start:\n${this.log}`);
      const res = await fetch(`${this.url}/healthz`).catch(() => null);
      if (res?.ok) return this;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`the service did not become healthy:\n${this.log}`);
  }

  /** Resolves once its output matches `pattern` (log lines may follow the answers: a worker thread writes them). */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    for (let waited = 0; !pattern.test(this.output); waited += POLL_MS) {
      if (waited >= timeoutMs) throw new Error(`no ${pattern} in the service's output:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Starts it and resolves with its exit code once it exits by itself (a start it refuses). */
  async exited(): Promise<number | null> {
    const child = await this.spawn();
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Kills the process (SIGKILL by default: no shutdown code runs) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = null;
  }

  /** SIGTERM, so that it shuts down (its embedded PostgreSQL too); then its own working directory goes. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }

  private async spawn(): Promise<ChildProcess> {
    this.port ||= await freePort();
    let cwd = this.options.cwd;
    if (cwd === 'temp') {
      cwd = this.workDir ??= mkdtempSync(path.join(tmpdir(), 'billing-service-'));
      chmodSync(cwd, 0o755);
    }
    const inherit = this.options.inherit;
    const inherited = inherit ? Object.fromEntries(Object.entries(process.env).filter(([name]) => inherit(name))) : process.env;
    const child = spawn(process.execPath, [MAIN], {
      cwd,
      env: {
        ...inherited,
        NODE_ENV: 'production',
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '0',
        SHUTDOWN_GRACE_MS: '2000',
        ...this.env,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => (this.output += chunk.toString());
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.child = child;
    return child;
  }
}
