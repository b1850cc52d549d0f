/** Runs `clients` concurrent loops of `operation` for `durationMs` and reports throughput and latency. */
export interface Measurement {
  operations: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export async function measure(
  clients: number,
  durationMs: number,
  operation: (client: number, iteration: number) => Promise<unknown>,
): Promise<Measurement> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let iteration = 0; performance.now() < deadline; iteration++) {
        const begin = performance.now();
        try {
          await operation(client, iteration);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    perSecond: latencies.length / elapsed,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    errors,
  };
}

/** The value at quantile `q` of values sorted in ascending order (0 when there are none). */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** The median of values in any order. */
export const median = (values: number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);
