import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../src/database/free-port';
import { TEST_JWT_SECRET } from './test-app';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'src', 'main.js');

/** The real service as its own process (the compiled `npm start` entry point), for crash and multi-instance tests. */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private output = '';
  port = 0;

  constructor(private readonly env: Record<string, string>) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.slice(-4000);
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    this.child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
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
    const collect = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000));
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    for (let attempt = 0; attempt < 200; attempt++) {
      if (this.child.exitCode !== null) throw new Error(`the service exited during start:\n${this.log}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return this;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the service did not become healthy:\n${this.log}`);
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
}
