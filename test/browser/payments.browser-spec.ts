import { Browser, BrowserContext, Page } from 'playwright-core';
import path from 'node:path';
import { launchChromium, offlineContext, SCREENSHOTS, signInAs, usageCard } from './support/browser';
import { serviceUrl } from './support/service-api';

/**
 * Payments through the local Stripe the development service starts when no STRIPE_SECRET_KEY is set: its checkout
 * page has a "Pay" button and returns to the dashboard, and its webhooks credit the wallet or change the plan.
 */
describe('payments from the dashboard (browser, local Stripe)', () => {
  const url = serviceUrl();
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let external: string[];

  beforeAll(async () => {
    browser = await launchChromium();
    ({ context, external } = await offlineContext(browser));
    page = await context.newPage();
    await signInAs(page, url, `browser-payer-${Date.now()}`);
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(() => expect(external).toEqual([]));

  const walletBalance = async () => Number((await page.getByTestId('wallet-balance').textContent())!.replace(/,/g, ''));
  const pay = async () => {
    await page.getByRole('button', { name: 'Pay' }).click();
  };

  it('buys Popular through the checkout page and sees the wallet rise by 1,000', async () => {
    await page.getByRole('link', { name: 'Buy credits' }).first().click();
    await page.locator('.package').first().waitFor();
    // The dashboard says that payments are simulated, and so does the checkout page.
    await page.getByText(/payments are simulated/i).first().waitFor();
    const before = await walletBalance();
    await page.getByRole('button', { name: /^Buy Popular/ }).click();
    await page.getByRole('button', { name: 'Pay' }).waitFor();
    await page.getByText(/nothing is charged/i).first().waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'checkout.png'), fullPage: true });
    await pay();
    await page.waitForURL((address) => address.pathname === '/billing/credits' && address.searchParams.get('purchase') === 'success');
    await page.getByTestId('purchase-status').filter({ hasText: 'credits added' }).waitFor({ timeout: 20_000 });
    expect(await walletBalance()).toBe(before + 1000);
    await expect(page.getByTestId('purchase-status').textContent()).resolves.toContain('1,000 credits added');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'purchased.png'), fullPage: false });
  });

  it('upgrades to Starter through the checkout page and sees the new limits', async () => {
    await page.getByRole('link', { name: 'Plan', exact: true }).click();
    await page.getByRole('button', { name: 'Upgrade to Starter' }).click();
    await page.getByRole('button', { name: 'Pay' }).waitFor();
    await pay();
    await page.waitForURL((address) => address.pathname === '/billing/plans');
    await page.getByTestId('current-plan').filter({ hasText: 'Current plan: Starter' }).waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 'Usage', exact: true }).click();
    await usageCard(page, 'MESSAGE').filter({ hasText: 'of 100 used' }).waitFor();
    await expect(usageCard(page, 'INTEGRATION').textContent()).resolves.toContain('of 2,000 used');
  });

  it('cancels the plan (pending until the period ends) and resumes it', async () => {
    await page.getByRole('link', { name: 'Plan', exact: true }).click();
    await page.getByRole('button', { name: 'Cancel Starter' }).click();
    await page.getByTestId('pending-change').filter({ hasText: 'Cancelled' }).waitFor();
    await page.getByRole('button', { name: 'Resume Starter' }).click();
    await page.getByTestId('pending-change').waitFor({ state: 'detached' });
    await expect(page.getByTestId('current-plan').textContent()).resolves.toContain('Current plan: Starter');
  });
});
