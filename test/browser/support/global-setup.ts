import { DevService } from './dev-service';

/** One development service for every browser spec, its payments simulated by the local Stripe it starts. */
export default async function globalSetup(): Promise<void> {
  const service = await new DevService().start();
  (globalThis as { browserService?: DevService }).browserService = service;
  process.env.BROWSER_SERVICE_URL = service.url;
}
