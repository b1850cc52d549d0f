import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

/** Linux reports process CPU time in clock ticks of 1/100 s (sysconf(_SC_CLK_TCK) on every common kernel). */
const TICKS_PER_SECOND = 100;

/** What one HTTP run cost per request, next to its latency: where the machine's time went. */
export interface ResourceUse {
  serviceCpuMs: number;
  postgresCpuMs: number;
  /** Transactions that wrote (each took a transaction id and, committing, waited for its WAL to be flushed). */
  writes: number;
  walBytes: number;
}

interface Sample {
  service: number;
  postgres: Map<number, number>;
  nextXid: number;
  walBytes: number;
}

/** `[ppid, CPU seconds]` of a process from /proc, or undefined once it has gone. */
export function processStat(pid: number): [number, number] | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return [Number(fields[1]), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND];
  } catch {
    return undefined;
  }
}

/**
 * Reads the CPU time of the service process and of the PostgreSQL cluster (the postmaster and every process it
 * started), the next transaction id and the WAL position, so that a run's cost per request can be told apart from
 * its latency. Transaction ids and WAL positions are exact at any moment (the statistics views lag); a process that
 * exits during a run (an autovacuum worker) takes its share of CPU time with it.
 */
export class ResourceProbe {
  private constructor(
    private readonly client: Client,
    private readonly postmasterPid: number,
    private readonly servicePid: number,
  ) {}

  static async open(url: string, dataDir: string, servicePid: number): Promise<ResourceProbe> {
    const postmasterPid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const client = new Client({ connectionString: url });
    await client.connect();
    return new ResourceProbe(client, postmasterPid, servicePid);
  }

  async sample(): Promise<Sample> {
    const postgres = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = processStat(pid);
      if (stat && (pid === this.postmasterPid || stat[0] === this.postmasterPid)) postgres.set(pid, stat[1]);
    }
    // Reading them takes no transaction id and writes no WAL.
    const { rows } = await this.client.query<{ xid: string; wal: string }>(
      `SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal`,
    );
    return {
      service: processStat(this.servicePid)?.[1] ?? 0,
      postgres,
      nextXid: Number(rows[0].xid),
      walBytes: Number(rows[0].wal),
    };
  }

  perRequest(before: Sample, after: Sample, requests: number): ResourceUse {
    let postgres = 0;
    for (const [pid, seconds] of after.postgres) postgres += seconds - (before.postgres.get(pid) ?? 0);
    return {
      serviceCpuMs: ((after.service - before.service) * 1000) / requests,
      postgresCpuMs: (postgres * 1000) / requests,
      writes: (after.nextXid - before.nextXid) / requests,
      walBytes: (after.walBytes - before.walBytes) / requests,
    };
  }

  close(): Promise<void> {
    return this.client.end();
  }
}
