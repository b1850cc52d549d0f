import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { Role } from '../../src/auth/role.enum';
import { signToken } from '../../src/auth/token.service';
import { freePort } from '../../src/database/free-port';
import { quantile } from './measure';
import { ResourceProbe, ResourceUse } from './resources';

const SECRET = 'benchmark-secret-benchmark-secret-0123456789';
export const HTTP_ACCOUNTS = 50;

export interface HttpMeasurement {
  perSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** Per request, when the run had a probe. */
  resources?: ResourceUse;
}

export interface BenchServer {
  url: string;
  pid: number;
  targets: Array<{ token: string; projectId: string }>;
  stop(): Promise<void>;
}

async function graphql(url: string, token: string, query: string): Promise<any> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: any; errors?: any[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Starts the service (plus the unguarded twin resolver) as its own process and prepares accounts with projects. */
export async function startBenchServer(databaseUrl: string): Promise<BenchServer> {
  const port = await freePort();
  const child: ChildProcess = fork(path.join(__dirname, 'server.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'error',
      RATE_LIMIT_IP_PER_MINUTE: '0',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '0',
      DATABASE_POOL_SIZE: '20',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const admin = await signToken(SECRET, 'bench-admin', [Role.ADMIN]);
  const targets = [];
  for (let i = 0; i < HTTP_ACCOUNTS; i++) {
    const accountId = `http-${i}`;
    const token = await signToken(SECRET, accountId, [], { expiresIn: '2h' });
    await graphql(url, admin, `mutation { grantCredits(input: { accountId: "${accountId}", amount: 1000000000, reason: "bench", idempotencyKey: "${accountId}" }) { id } }`);
    const data = await graphql(url, token, `mutation { createProject(name: "bench") { id } }`);
    targets.push({ token, projectId: data.createProject.id as string });
  }
  return {
    url,
    pid: child.pid!,
    targets,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The resolvers compared: sendChatMessage and its twins in the bench server (scripts/bench/server.ts). */
export const RESOLVERS = {
  unguarded: { field: 'sendChatMessageUnguarded', label: 'unguarded' },
  guarded: { field: 'sendChatMessage', label: 'guarded' },
  bareDebitAfter: { field: 'sendChatMessageBareDebitAfter', label: 'floor, one bare debit after' },
  bareDebitsAround: { field: 'sendChatMessageBareDebitsAround', label: 'floor, bare debits before and after' },
} as const;
export type ResolverVariant = keyof typeof RESOLVERS;
export const VARIANTS = Object.keys(RESOLVERS) as ResolverVariant[];

/** autocannon against one of the resolvers, spreading requests over the accounts. */
export async function runHttp(
  server: BenchServer,
  connections: number,
  seconds: number,
  variant: ResolverVariant,
  probe?: ResourceProbe,
): Promise<HttpMeasurement> {
  const { field } = RESOLVERS[variant];
  let next = 0;
  const before = await probe?.sample();
  const result = await autocannon({
    url: server.url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/graphql',
        setupRequest: (request) => {
          const target = server.targets[next++ % server.targets.length];
          return {
            ...request,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
            body: JSON.stringify({
              query: `mutation { ${field}(projectId: "${target.projectId}", text: "hello") { id } }`,
            }),
          };
        },
      },
    ],
  });
  const after = await probe?.sample();
  return {
    perSecond: result.requests.average,
    meanMs: result.latency.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    resources: probe && before && after ? probe.perRequest(before, after, result.requests.total) : undefined,
  };
}

export interface HttpComparison {
  /** The median run of each resolver. */
  runs: Record<ResolverVariant, HttpMeasurement>;
  /** Per resolver, the median over the rounds of its mean latency against the unguarded one of the same round, in percent. */
  addedPercent: Record<ResolverVariant, number>;
  roundsPercent: Record<ResolverVariant, number[]>;
  failures: number;
}

const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5);

function medianOf(runs: HttpMeasurement[]): HttpMeasurement {
  const of = (field: 'perSecond' | 'meanMs' | 'p50Ms' | 'p99Ms') => median(runs.map((run) => run[field]));
  const use = (field: keyof ResourceUse) => median(runs.map((run) => run.resources![field]));
  const resources: ResourceUse | undefined = runs.every((run) => run.resources)
    ? { serviceCpuMs: use('serviceCpuMs'), postgresCpuMs: use('postgresCpuMs'), writes: use('writes'), walBytes: use('walBytes') }
    : undefined;
  return { perSecond: of('perSecond'), meanMs: of('meanMs'), p50Ms: of('p50Ms'), p99Ms: of('p99Ms'), non2xx: 0, errors: 0, resources };
}

const byVariant = <T>(value: (variant: ResolverVariant) => T) =>
  Object.fromEntries(VARIANTS.map((variant) => [variant, value(variant)])) as Record<ResolverVariant, T>;

/**
 * Every resolver in `rounds` rounds, each round starting with the next one in turn, so that a slow stretch of the
 * shared machine weighs on all alike.
 */
export async function compareHttp(
  server: BenchServer,
  connections: number,
  seconds: number,
  rounds: number,
  probe?: ResourceProbe,
): Promise<HttpComparison> {
  const runs = byVariant<HttpMeasurement[]>(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < VARIANTS.length; turn++) {
      const variant = VARIANTS[(round + turn) % VARIANTS.length];
      runs[variant].push(await runHttp(server, connections, seconds, variant, probe));
    }
  }
  const roundsPercent = byVariant((variant) =>
    runs.unguarded.map((plain, round) => ((runs[variant][round].meanMs - plain.meanMs) / plain.meanMs) * 100),
  );
  return {
    runs: byVariant((variant) => medianOf(runs[variant])),
    addedPercent: byVariant((variant) => median(roundsPercent[variant])),
    roundsPercent,
    failures: Object.values(runs)
      .flat()
      .reduce((sum, run) => sum + run.non2xx + run.errors, 0),
  };
}
