/**
 * What the request stack costs: a trivial GraphQL mutation (no database) through the whole service, every layer on
 * (request log lines at the default level, security headers, CORS, both rate limits counting, authentication,
 * query limits, the status and NUL plugins, validation), against the same mutation in a bare NestJS + Apollo
 * application built from the project's own dependencies (scripts/bench/bare-server.ts).
 */
import autocannon from 'autocannon';
import { freePort } from '../../src/database/free-port';
import { forkServer, startBenchServer } from './http';
import { median } from './measure';
import { processStat } from './resources';

export interface StackMeasurement {
  perSecond: number;
  cpuMsPerRequest: number;
}

export interface StackComparison {
  bare: StackMeasurement;
  service: StackMeasurement;
  /** Service CPU per request over the bare twin's, each round's own. */
  rounds: number[];
}

interface Target {
  url: string;
  pid: number;
  headers: Record<string, string>;
  query: string;
  stop(): Promise<void>;
}

async function startBare(): Promise<Target> {
  const port = await freePort();
  const server = await forkServer('bare-server', { PORT: String(port) }, 'ignore');
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    pid: server.pid,
    headers: { 'content-type': 'application/json' },
    query: 'mutation { ping }',
    stop: server.stop,
  };
}

async function startService(databaseUrl: string): Promise<Target> {
  const server = await startBenchServer(databaseUrl, { logLevel: 'log', rateLimits: true, accounts: false });
  return {
    url: `${server.url}/graphql`,
    pid: server.pid,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.serviceToken}` },
    query: 'mutation { benchPing }',
    stop: () => server.stop(),
  };
}

async function measure(target: Target, connections: number, seconds: number): Promise<StackMeasurement> {
  const cpuBefore = processStat(target.pid)![1];
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: target.headers,
    body: JSON.stringify({ query: target.query }),
  });
  if (result.non2xx || result.errors) throw new Error(`${target.query}: ${result.non2xx + result.errors} failed requests`);
  const cpuAfter = processStat(target.pid)![1];
  return { perSecond: result.requests.average, cpuMsPerRequest: ((cpuAfter - cpuBefore) * 1000) / result.requests.total };
}


/** Both stacks side by side, `rounds` times, each round starting with the other one, after a warm-up of each. */
export async function compareStacks(
  databaseUrl: string,
  connections: number,
  seconds: number,
  rounds: number,
): Promise<StackComparison> {
  const bare = await startBare();
  const service = await startService(databaseUrl);
  const runs = { bare: [] as StackMeasurement[], service: [] as StackMeasurement[] };
  try {
    await measure(bare, connections, Math.min(seconds, 3));
    await measure(service, connections, Math.min(seconds, 3));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['bare', 'service'] as const) : (['service', 'bare'] as const);
      for (const which of order) runs[which].push(await measure(which === 'bare' ? bare : service, connections, seconds));
    }
  } finally {
    await service.stop();
    await bare.stop();
  }
  const of = (list: StackMeasurement[]): StackMeasurement => ({
    perSecond: median(list.map((run) => run.perSecond)),
    cpuMsPerRequest: median(list.map((run) => run.cpuMsPerRequest)),
  });
  return {
    bare: of(runs.bare),
    service: of(runs.service),
    rounds: runs.service.map((run, i) => run.cpuMsPerRequest / runs.bare[i].cpuMsPerRequest),
  };
}
