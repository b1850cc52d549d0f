import { DevService } from './dev-service';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { browserService?: DevService }).browserService?.stop();
}
