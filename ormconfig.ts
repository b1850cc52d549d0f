import 'dotenv/config';
import { DataSource } from 'typeorm';
import { databaseOptions } from './src/database/database.options';

/**
 * The DataSource of the TypeORM CLI (`npm run typeorm -- migration:show`, `migration:create`...). It needs
 * DATABASE_URL; `npm run db:migrate` and the service itself also handle the embedded PostgreSQL.
 */
const url = process.env.DATABASE_URL;
if (!url) throw new Error('ormconfig.ts: set DATABASE_URL to run the TypeORM CLI (npm run db:migrate works without)');

export default new DataSource(databaseOptions(url));
