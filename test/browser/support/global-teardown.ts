import type { ServiceProcess } from '../../support/service-process';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { browserService?: ServiceProcess }).browserService?.stop();
}
