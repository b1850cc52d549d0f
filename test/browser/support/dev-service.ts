import { freePort } from '../../../src/database/free-port';
import { ServiceProcess } from '../../support/service-process';

/**
 * The compiled service as `npm start` runs it in development: no Stripe keys (its local Stripe simulates payments),
 * no JWT secret, embedded PostgreSQL, in a throw-away working directory (its .data/ and schema.graphql stay there).
 */
export async function startDevService(): Promise<ServiceProcess> {
  const port = await freePort();
  const service = new ServiceProcess(
    // APP_URL is the dashboard's origin: Stripe's return pages and the service's own links lead back to it.
    { NODE_ENV: 'development', JWT_SECRET: '', APP_URL: `http://localhost:${port}` },
    {
      cwd: 'temp',
      inherit: (name) => !/^(STRIPE_|JWT_|DATABASE_URL$|GRAPHQL_|DEV_SIGN_IN$)/.test(name),
      host: 'localhost',
      readyTimeoutMs: 120_000,
    },
  );
  service.port = port;
  return service.start();
}
