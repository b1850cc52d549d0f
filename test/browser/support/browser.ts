import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import path from 'node:path';

export const SCREENSHOTS = path.resolve(__dirname, '..', '..', '..', 'docs', 'screenshots');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A browser context that is offline but for this machine: every request elsewhere is refused and recorded, so a
 * test can assert that none was attempted. Console messages about the Content Security Policy are recorded too.
 */
export async function offlineContext(browser: Browser): Promise<{ context: BrowserContext; external: string[]; cspViolations: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const external: string[] = [];
  const cspViolations: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOCAL_HOSTS.has(url.hostname)) {
      external.push(url.toString());
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, external, cspViolations };
}

/** Signs in through the dashboard's development "sign in as" form. */
export async function signInAs(page: Page, baseUrl: string, accountId: string): Promise<void> {
  await page.goto(`${baseUrl}/billing`);
  await page.getByLabel('Account id').fill(accountId);
  await page.getByRole('button', { name: 'Sign in as' }).click();
  await page.getByRole('heading', { level: 1, name: 'Usage' }).waitFor();
}

export function usageCard(page: Page, creditType: string) {
  return page.locator(`[data-credit-type="${creditType}"]`);
}
