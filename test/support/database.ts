import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { PgBouncer } from '../../scripts/pgbouncer';

/** The pooler this spec file's service reaches its databases through, if any (see through-pgbouncer.ts). */
let pooler: PgBouncer | undefined;

export function connectThrough(next: PgBouncer | undefined): void {
  pooler = next;
}

export function testPooler(): PgBouncer | undefined {
  return pooler;
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env.TEST_DATABASE_SERVER_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database copied from the run's template; its URL goes through the spec file's pooler, if any. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `billing_test_${randomBytes(6).toString('hex')}`;
  const template = process.env.TEST_DATABASE_TEMPLATE;
  if (!template) throw new Error('The jest global setup did not prepare a template database');
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = new URL(process.env.TEST_DATABASE_SERVER_URL!);
  url.pathname = `/${name}`;
  return {
    url: pooler ? pooler.route(url.toString()) : url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A new database with nothing migrated in it. */
export async function createEmptyDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `billing_empty_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  const url = new URL(process.env.TEST_DATABASE_SERVER_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
