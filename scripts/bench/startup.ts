/**
 * `npm start` to first answer, split: the build (`tsc -b`, nothing to do when nothing changed; a clean build for
 * comparison), then the service's own start as it logs it (embedded PostgreSQL, migrations, the application) and
 * the rest (loading the code before the first line runs, the first request). Twice: on a new data directory (the
 * cluster is created) and on the one it left (the cluster is only started).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/database/free-port';

export interface StartMeasurement {
  label: string;
  firstAnswerMs: number;
  databaseMs: number;
  migrationsMs: number;
  applicationMs: number;
}

export interface StartupMeasurement {
  buildUpToDateMs: number;
  buildCleanMs: number;
  starts: StartMeasurement[];
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const READY = /started in (\d+) ms: database (\d+) ms, migrations (\d+) ms, application (\d+) ms/;

function timed(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function startOnce(label: string, workDir: string): Promise<StartMeasurement> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'main.js')], {
    cwd: workDir,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET: 'startup-benchmark-secret-0123456789abcdef',
      LOG_LEVEL: 'log',
      PORT: String(port),
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}):\n${output.slice(-2000)}`);
      const answer = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ plans { code } }' }),
      }).catch(() => undefined);
      if (answer?.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const firstAnswerMs = Date.now() - started;
    const split = READY.exec(output);
    if (!split) throw new Error(`no start-up line in:\n${output.slice(-2000)}`);
    return { label, firstAnswerMs, databaseMs: Number(split[2]), migrationsMs: Number(split[3]), applicationMs: Number(split[4]) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

export async function measureStartup(): Promise<StartupMeasurement> {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'billing-build-'));
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'billing-start-'));
  // Run as root, the embedded cluster belongs to an unprivileged user, who must reach its data directory.
  chmodSync(workDir, 0o755);
  try {
    const buildUpToDateMs = timed(() => execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: ROOT }));
    const buildCleanMs = timed(() =>
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--incremental', 'false', '--outDir', outDir], { cwd: ROOT }),
    );
    const starts = [
      await startOnce('new data directory (cluster created)', workDir),
      await startOnce('existing data directory', workDir),
    ];
    return { buildUpToDateMs, buildCleanMs, starts };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
}
