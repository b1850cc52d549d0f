import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Role } from '../../src/auth/role.enum';
import { signToken } from '../../src/auth/token.service';
import { freePort } from '../../src/database/free-port';
import { median } from './measure';
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
  /** A service-role token, for metering any account. */
  serviceToken: string;
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

/**
 * Starts the service (plus the unguarded twin resolver) as its own process and prepares accounts with projects. By
 * default it logs errors only; `logLevel: 'log'` is the service's default, one line per request (written to
 * /dev/null, so that what is measured is building the lines, not a terminal). `accounts: false` prepares none;
 * `env` is added to its settings.
 */
export async function startBenchServer(
  databaseUrl: string,
  options: { logLevel?: string; rateLimits?: boolean; accounts?: boolean; env?: Record<string, string> } = {},
): Promise<BenchServer> {
  const port = await freePort();
  const server = await forkServer(
    'server',
    {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      JWT_SECRET: SECRET,
      LOG_LEVEL: options.logLevel ?? 'error',
      // On, the limits count every request (set too high to refuse any).
      RATE_LIMIT_IP_PER_MINUTE: options.rateLimits ? '100000000' : '0',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: options.rateLimits ? '100000000' : '0',
      DATABASE_POOL_SIZE: '20',
      ...options.env,
    },
    options.logLevel ? 'ignore' : 'inherit',
  );
  const url = `http://127.0.0.1:${port}`;
  const admin = await signToken(SECRET, 'bench-admin', [Role.ADMIN]);
  const targets = [];
  for (let i = 0; i < (options.accounts === false ? 0 : HTTP_ACCOUNTS); i++) {
    const accountId = `http-${i}`;
    const token = await signToken(SECRET, accountId, [], { expiresIn: '2h' });
    await graphql(url, admin, `mutation { grantCredits(input: { accountId: "${accountId}", amount: 1000000000, reason: "bench", idempotencyKey: "${accountId}", createAccount: true }) { id } }`);
    const data = await graphql(url, token, `mutation { createProject(name: "bench") { id } }`);
    targets.push({ token, projectId: data.createProject.id as string });
  }
  return {
    url,
    pid: server.pid,
    serviceToken: await signToken(SECRET, 'bench-metering', [Role.SERVICE], { expiresIn: '2h' }),
    targets,
    stop: server.stop,
  };
}

/**
 * A bench server (`scripts/bench/<file>.ts`) forked as its own process, compiled as `npm start` runs the service
 * (ts-node's hooks would slow every event emitter down), once it says it is ready; with BENCH_SERVER_PROFILE, it
 * writes a CPU profile there when it stops.
 */
export async function forkServer(
  file: string,
  env: Record<string, string>,
  stdout: 'ignore' | 'inherit',
): Promise<{ pid: number; stop(): Promise<void> }> {
  const profile = process.env.BENCH_SERVER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROFILE}`] : [];
  const child: ChildProcess = fork(path.join(__dirname, `${file}.js`), [], {
    execArgv: profile,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench ${file} exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
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
  return load(server, connections, seconds, 1, probe, () => {
    const target = server.targets[next++ % server.targets.length];
    return {
      token: target.token,
      body: { query: `mutation { ${field}(projectId: "${target.projectId}", text: "hello") { id } }` },
    };
  });
}

/**
 * autocannon POSTing to /graphql what `next` gives for each request, each request counting `events`; with a probe,
 * the processes' costs per event.
 */
async function load(
  server: BenchServer,
  connections: number,
  seconds: number,
  events: number,
  probe: ResourceProbe | undefined,
  next: () => { token: string; body: unknown },
): Promise<HttpMeasurement> {
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
          const { token, body } = next();
          return {
            ...request,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify(body),
          };
        },
      },
    ],
  });
  const after = await probe?.sample();
  return {
    perSecond: result.requests.average * events,
    meanMs: result.latency.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    resources: probe && before && after ? probe.perRequest(before, after, result.requests.total * events) : undefined,
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

const CONSUME = 'mutation ($input: ConsumeCreditsInput!) { consumeCredits(input: $input) { allowed } }';
const CONSUME_BATCH =
  'mutation ($input: ConsumeCreditsBatchInput!) { consumeCreditsBatch(input: $input) { results { allowed } } }';

/**
 * Metering over HTTP as a metering peer sends it: a service-role token, 1 INTEGRATION credit per event, each event
 * with its own idempotency key, one event per `consumeCredits` request or `eventsPerRequest` per
 * `consumeCreditsBatch` (0: one per `consumeCredits` request whose document inlines the event, new every time). The accounts are the in-process ledger run's (`accounts`); `perSecond` counts events.
 */
export async function runMetering(
  server: BenchServer,
  connections: number,
  seconds: number,
  accounts: string[],
  eventsPerRequest: number,
  probe?: ResourceProbe,
): Promise<HttpMeasurement> {
  const run = `${process.pid}-${Date.now()}`;
  let next = 0;
  const event = () => ({
    accountId: accounts[Math.floor(Math.random() * accounts.length)],
    creditType: 'INTEGRATION',
    amount: 1,
    idempotencyKey: `${run}-${next++}`,
  });
  const body = () => {
    if (eventsPerRequest === 0) {
      // The event's values written into the document itself: every request is a document never seen before.
      const { accountId, idempotencyKey } = event();
      const literal = `{ accountId: "${accountId}", creditType: INTEGRATION, amount: 1, idempotencyKey: "${idempotencyKey}" }`;
      return { query: `mutation { consumeCredits(input: ${literal}) { allowed } }` };
    }
    return eventsPerRequest === 1
      ? { query: CONSUME, variables: { input: event() } }
      : { query: CONSUME_BATCH, variables: { input: { events: Array.from({ length: eventsPerRequest }, event) } } };
  };
  return load(server, connections, seconds, Math.max(eventsPerRequest, 1), probe, () => ({ token: server.serviceToken, body: body() }));
}

/** Resident memory of a process, in MiB (from /proc). */
export async function residentMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
}
