import { Browser } from 'playwright-core';
import path from 'node:path';
import { launchChromium, offlineContext, SCREENSHOTS } from './support/browser';
import { serviceUrl, tokenFor } from './support/service-api';

describe('GraphQL IDE at /graphql (browser, offline)', () => {
  const url = serviceUrl();
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads with nothing from elsewhere, runs { plans { code } } and sends the saved token', async () => {
    const { context, external, cspViolations } = await offlineContext(browser);
    const page = await context.newPage();
    const response = await page.goto(`${url}/graphql`);
    expect(response?.headers()['content-type']).toContain('text/html');
    const editor = page.locator('.graphiql-query-editor .CodeMirror');
    await editor.waitFor();

    const run = async (query: string) => {
      await editor.evaluate((element, text) => (element as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue(text), query);
      await page.locator('.graphiql-execute-button').click();
    };
    const result = () => page.locator('.graphiql-response .CodeMirror').textContent();
    const resultContains = (text: string) => page.locator('.graphiql-response .CodeMirror', { hasText: text }).waitFor({ timeout: 10_000 });

    await run('{ plans { code } }');
    await resultContains('"FREE"');
    expect(await result()).toContain('"ELITE"');

    await page.getByLabel('Bearer token').fill(await tokenFor('ide-user'));
    await page.getByRole('button', { name: 'Save' }).click();
    await run('{ billing { accountId } }');
    await resultContains('"ide-user"');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'graphiql.png') });

    expect(external).toEqual([]);
    expect(cspViolations).toEqual([]);
    await context.close();
  });

  it('still answers GraphQL clients at /graphql', async () => {
    const res = await fetch(`${url}/graphql?query=${encodeURIComponent('{ plans { code } }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(((await res.json()) as { data: { plans: unknown[] } }).data.plans).toHaveLength(5);
  });
});
