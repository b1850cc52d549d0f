import { PgBouncer, startPgBouncer } from '../../scripts/pgbouncer';
import { connectThrough } from './database';

/**
 * The setup of the jest project `pgbouncer` (jest.config.js): each of its spec files reaches its databases through
 * a PgBouncer of its own, in transaction pooling mode with fewer server connections than the service's pool, as
 * instances sharing PostgreSQL through a pooler do; the service's statements go unprepared. Without PgBouncer the
 * project's specs fail, saying how to install it.
 */
let bouncer: PgBouncer | undefined;

beforeAll(async () => {
  try {
    bouncer = await startPgBouncer(process.env.TEST_DATABASE_SERVER_URL!);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nThe jest project "pgbouncer" runs its specs through it (jest.config.js); ` +
        '`npx jest --selectProjects unit e2e` runs everything else.',
    );
  }
  connectThrough(bouncer);
});

afterAll(async () => {
  connectThrough(undefined);
  await bouncer?.stop();
});
