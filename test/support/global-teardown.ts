import { Client } from 'pg';
import { EmbeddedDatabase } from '../../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const cluster = (globalThis as { testCluster?: EmbeddedDatabase }).testCluster;
  if (cluster) {
    await cluster.stop();
    return;
  }
  const admin = new Client({ connectionString: process.env.TEST_DATABASE_SERVER_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${process.env.TEST_DATABASE_TEMPLATE} WITH (FORCE)`);
  await admin.end();
}
