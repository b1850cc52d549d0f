import path from 'node:path';
import { AppConfig } from '../config/app-config';
import { EmbeddedDatabase, ensureDatabase, startEmbeddedPostgres } from './embedded-postgres';

export const EMBEDDED_DATA_DIR = path.resolve(process.cwd(), '.data', 'postgres');
const EMBEDDED_DATABASE = 'billing';

export interface ResolvedDatabase {
  url: string;
  /** Set when this process started an embedded PostgreSQL. */
  embedded?: EmbeddedDatabase;
}

/** DATABASE_URL when set; otherwise the embedded PostgreSQL under `.data/`, started on demand. */
export async function resolveDatabase(config: AppConfig): Promise<ResolvedDatabase> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  const embedded = await startEmbeddedPostgres({ dataDir: EMBEDDED_DATA_DIR, port: config.EMBEDDED_POSTGRES_PORT });
  return { url: await ensureDatabase(embedded.url, EMBEDDED_DATABASE), embedded };
}
