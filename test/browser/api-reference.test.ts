import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { securityEnv } from '../support/api-keys';
import { ROOT } from '../support/broker';
import { closedPort } from '../support/local-servers';
import { startService, stopAll } from '../support/processes';
import { waitReady } from '../support/stack';

// The API reference page (/docs) in a real browser (Debian's chromium driven by playwright-core), under the CSP the
// app sends. The app runs alone on free ports with no broker (the page needs none). A screenshot of the final
// state goes to .run/screenshots/ (git-ignored).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, '.run/screenshots/api-reference.png');

let base: string;
let browser: Browser;
let page: Page;
const refused: string[] = [];
const elsewhere: string[] = [];

beforeAll(async () => {
  const [port, opsPort, brokerPort] = [await closedPort(), await closedPort(), await closedPort()];
  base = `http://127.0.0.1:${port}`;
  startService('app', {
    ...securityEnv(),
    PORT: String(port),
    OPS_PORT: String(opsPort),
    HOST: '127.0.0.1',
    OPS_HOST: '127.0.0.1',
    AMQP_URL: `amqp://relay-app:relay-app@127.0.0.1:${brokerPort}/relay`,
    READY_TIMEOUT_MS: '200',
    LOG_LEVEL: 'fatal',
  });
  await waitReady([`${base}/healthz`]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  // Chromium reports each CSP refusal on the console; a page that works only by breaking its CSP fails here.
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text());
  });
  page.on('pageerror', (error) => refused.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:')) elsewhere.push(request.url());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe('the API reference page', () => {
  test('renders every operation of /openapi.json from the app alone, under its CSP, with nothing refused', async () => {
    const response = await page.goto(`${base}/docs`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByRole('heading', { name: /relay-stack API/ }).waitFor();
    for (const route of ['/v1/sms', '/v1/email', '/v1/notifications', '/v1/batch', '/healthz', '/readyz']) {
      await page.locator('.opblock-summary-path', { hasText: new RegExp(`^${route}$`) }).first().waitFor();
    }
    // Open one operation: its responses and their schemas come from the zod schemas.
    await page.locator('.opblock-summary-path', { hasText: /^\/v1\/sms$/ }).click();
    await page.getByText('Over the API key\'s rate or the SMS recipient\'s.').first().waitFor();
    await page.getByText('Retry-After').first().waitFor();
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(refused).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
