import type { ServiceProcess } from '../../support/service-process';
import { startDevService } from './dev-service';

/** One development service for every browser spec, its payments simulated by the local Stripe it starts. */
export default async function globalSetup(): Promise<void> {
  const service = await startDevService();
  (globalThis as { browserService?: ServiceProcess }).browserService = service;
  process.env.BROWSER_SERVICE_URL = service.url;
}
