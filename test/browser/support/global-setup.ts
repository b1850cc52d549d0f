import { DevService } from './dev-service';
import { paymentsAvailable } from './service-api';

/**
 * One development service for every browser spec. Whether it takes payments (a local Stripe, when the service
 * provides one) decides whether the payment specs run.
 */
export default async function globalSetup(): Promise<void> {
  const service = await new DevService().start();
  (globalThis as { browserService?: DevService }).browserService = service;
  process.env.BROWSER_SERVICE_URL = service.url;
  process.env.BROWSER_PAYMENTS = (await paymentsAvailable(service.url)) ? '1' : '0';
}
