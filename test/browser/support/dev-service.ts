import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../../src/database/free-port';

const MAIN = path.resolve(__dirname, '..', '..', '..', 'dist', 'src', 'main.js');

/**
 * The compiled service as `npm start` runs it in development: no Stripe keys, no JWT secret, embedded PostgreSQL,
 * in a throw-away working directory (its .data/ and schema.graphql stay there).
 */
export class DevService {
  private child: ChildProcess | null = null;
  private output = '';
  private workDir = '';
  port = 0;

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  get log(): string {
    return this.output.slice(-4000);
  }

  async start(): Promise<this> {
    this.port = await freePort();
    this.workDir = mkdtempSync(path.join(tmpdir(), 'billing-browser-'));
    chmodSync(this.workDir, 0o755);
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(STRIPE_|JWT_|DATABASE_URL$|GRAPHQL_|DEV_SIGN_IN$)/.test(key)),
    );
    this.child = spawn(process.execPath, [MAIN], {
      cwd: this.workDir,
      env: {
        ...env,
        NODE_ENV: 'development',
        PORT: String(this.port),
        APP_URL: `http://localhost:${this.port}`,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        RATE_LIMIT_ACCOUNT_PER_MINUTE: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000));
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    for (let attempt = 0; attempt < 1200; attempt++) {
      if (this.child.exitCode !== null) throw new Error(`the service exited during start:\n${this.log}`);
      const res = await fetch(`${this.url}/healthz`).catch(() => null);
      if (res?.ok) return this;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the service did not become healthy:\n${this.log}`);
  }

  /** SIGTERM, so the service stops its embedded PostgreSQL too; then the working directory goes. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    this.child = null;
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}
