import { Browser, BrowserContext, Page } from 'playwright-core';
import path from 'node:path';
import { launchChromium, offlineContext, SCREENSHOTS, signInAs, usageCard } from './support/browser';
import { consume, serviceUrl } from './support/service-api';

const YELLOW = 'rgb(212, 167, 44)';
const RED = 'rgb(207, 34, 46)';
const GREEN = 'rgb(26, 127, 55)';

describe('billing dashboard (browser, development service)', () => {
  const url = serviceUrl();
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let external: string[];
  let cspViolations: string[];
  const account = `browser-${Date.now()}`;

  beforeAll(async () => {
    browser = await launchChromium();
    ({ context, external, cspViolations } = await offlineContext(browser));
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(() => {
    expect(external).toEqual([]);
    expect(cspViolations).toEqual([]);
  });

  const barColour = (creditType: string) =>
    usageCard(page, creditType).locator('.bar-fill').evaluate((element) => (globalThis as any).getComputedStyle(element).backgroundColor as string);

  it('signs in with the development "sign in as" and shows one usage card per credit type', async () => {
    await signInAs(page, url, account);
    expect(new URL(page.url()).pathname).toBe('/billing/usage');
    for (const type of ['MESSAGE', 'INTEGRATION', 'PROJECT']) {
      await expect(usageCard(page, type).getAttribute('data-level')).resolves.toBe('OK');
    }
    await expect(usageCard(page, 'MESSAGE').textContent()).resolves.toContain('0 of 10 used');
    expect(await barColour('MESSAGE')).toBe(GREEN);
    await expect(page.getByTestId('wallet-balance').textContent()).resolves.toBe('0');
  });

  it('renders the usage page quickly from a cold load (time to first render)', async () => {
    const fresh = await context.newPage();
    await fresh.goto(`${url}/billing/usage`);
    await usageCard(fresh, 'MESSAGE').waitFor();
    const timing = await fresh.evaluate(() => {
      // Runs in the page: the browser's own performance timeline.
      const timeline = performance as any;
      const navigation = timeline.getEntriesByType('navigation')[0];
      const paint = timeline.getEntriesByName('first-contentful-paint')[0];
      return { cardsAt: Math.round(performance.now()), firstPaint: Math.round(paint?.startTime ?? -1), domContentLoaded: Math.round(navigation.domContentLoadedEventEnd) };
    });
    process.stdout.write(
      `dashboard timing: first contentful paint ${timing.firstPaint} ms, DOMContentLoaded ${timing.domContentLoaded} ms, ` +
        `usage cards with data ${timing.cardsAt} ms after navigation\n`,
    );
    expect(timing.cardsAt).toBeLessThan(3000);
    await fresh.close();
  });

  it('turns a card yellow at 80 % with a warning and its links, and red once exhausted', async () => {
    await consume(url, account, 'MESSAGE', 8, 8);
    await consume(url, account, 'INTEGRATION', 35, 20);
    await page.reload();
    await usageCard(page, 'MESSAGE').waitFor();
    expect(await usageCard(page, 'MESSAGE').getAttribute('data-level')).toBe('WARNING');
    expect(await usageCard(page, 'INTEGRATION').getAttribute('data-level')).toBe('OK');
    expect(await barColour('MESSAGE')).toBe(YELLOW);
    await expect(usageCard(page, 'MESSAGE').textContent()).resolves.toMatch(/8 of 10 used.*Warning|Warning.*8 of 10 used/s);
    const warnings = page.getByRole('region', { name: 'Running low' });
    await expect(warnings.textContent()).resolves.toMatch(/MESSAGE|message/);
    expect(await warnings.getByRole('link', { name: 'Upgrade your plan' }).getAttribute('href')).toBe(`${url}/billing/plans`);
    expect(await warnings.getByRole('link', { name: 'Buy credits' }).getAttribute('href')).toBe(`${url}/billing/credits`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'usage.png'), fullPage: true });

    await consume(url, account, 'MESSAGE', 2);
    await page.reload();
    await usageCard(page, 'MESSAGE').waitFor();
    expect(await usageCard(page, 'MESSAGE').getAttribute('data-level')).toBe('EXHAUSTED');
    expect(await barColour('MESSAGE')).toBe(RED);
    await expect(usageCard(page, 'MESSAGE').textContent()).resolves.toContain('Exhausted');
    await expect(page.getByRole('region', { name: 'Running low' }).textContent()).resolves.toBeTruthy();
  });

  it('follows the purchase link to the credit packages: five, prices per credit, the popular one marked', async () => {
    await page.getByRole('region', { name: 'Running low' }).getByRole('link', { name: 'Buy credits' }).click();
    await page.getByRole('heading', { level: 1, name: 'Buy credits' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/billing/credits');
    const packages = page.getByRole('list', { name: 'Credit packages' }).locator(':scope > li');
    await packages.first().waitFor();
    expect(await packages.count()).toBe(5);
    const popular = page.locator('.package.popular');
    await expect(popular.textContent()).resolves.toMatch(/Popular.*Most popular.*1,000.*\$35\.00.*\$0\.035 per credit/s);
    await expect(page.getByRole('heading', { name: 'How credits work' }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'credits.png'), fullPage: true });
  });

  it('shows the plans with the current one, and the history with "Load more"', async () => {
    await page.getByRole('link', { name: 'Plan', exact: true }).click();
    await page.getByTestId('current-plan').waitFor();
    await expect(page.getByTestId('current-plan').textContent()).resolves.toContain('Current plan: Free');
    await expect(page.getByRole('button', { name: 'Upgrade to Starter' }).isEnabled()).resolves.toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'plans.png'), fullPage: true });

    await page.getByRole('link', { name: 'History' }).click();
    const transactions = page.getByTestId('history-transactions').locator('tbody tr');
    await transactions.first().waitFor();
    expect(await transactions.count()).toBe(20);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('[data-testid="history-transactions"] tbody tr').length > 20);
    await page.getByRole('button', { name: 'Usage' }).click();
    await page.getByTestId('history-usage').waitFor();
    expect(await page.getByTestId('history-usage').locator('tbody tr').count()).toBe(20);
    await page.getByRole('button', { name: 'Transactions' }).click();
    await page.getByTestId('history-transactions').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'history.png'), fullPage: false });
  });

  it('is usable from the keyboard: the navigation is reachable by Tab and marks the current page', async () => {
    await page.goto(`${url}/billing/usage`);
    await usageCard(page, 'MESSAGE').waitFor();
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => (globalThis as any).document.activeElement?.textContent as string)).resolves.toBe('Skip to content');
    expect(await page.getByRole('link', { name: 'Usage', exact: true }).getAttribute('aria-current')).toBe('page');
    await expect(page.locator('[role="status"][aria-live="polite"]').count()).resolves.toBe(1);
  });

  it('signs out, and a bad token is refused at sign-in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.getByLabel('Bearer token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/token/i);
  });
});

describe('development sign-in endpoint', () => {
  it('mints a token the API accepts', async () => {
    const res = await fetch(`${serviceUrl()}/billing/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'dev-endpoint' }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const billing = await fetch(`${serviceUrl()}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ billing { accountId } }' }),
    });
    expect(await billing.json()).toEqual({ data: { billing: { accountId: 'dev-endpoint' } } });
  });
});
