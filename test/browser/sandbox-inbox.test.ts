import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createSmtpProvider } from '../../services/email-worker/smtp-provider';
import { createWebhookProvider } from '../../services/notif-worker/webhook-provider';
import type { EnvelopeOf } from '../../services/shared/envelope/envelope';
import { createTwilioProvider } from '../../services/sms-worker/twilio-provider';
import { ROOT } from '../support/broker';
import { closedPort } from '../support/local-servers';
import { startService, stopAll } from '../support/processes';
import { waitReady } from '../support/stack';

// The sandbox's inbox page in a real browser (Debian's chromium driven by playwright-core). The sandbox runs alone
// on free ports; messages reach it through the workers' real provider modules (twilio SDK, nodemailer, signed
// webhook), so no broker is needed. A screenshot of the final state goes to .run/screenshots/ (git-ignored).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, '.run/screenshots/sandbox-inbox.png');

let base: string;
let smtpPort: number;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const [httpPort, smtp] = [await closedPort(), await closedPort()];
  smtpPort = smtp;
  base = `http://127.0.0.1:${httpPort}`;
  startService('sandbox', { SANDBOX_HTTP_PORT: String(httpPort), SANDBOX_SMTP_PORT: String(smtpPort), SANDBOX_HOST: '127.0.0.1', NOTIF_WEBHOOK_SECRET: WEBHOOK_SECRET });
  await waitReady([`${base}/healthz`]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ viewport: { width: 1180, height: 1000 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

const context = { requestId: undefined, attempt: 1 };
/** A secret of the test's own: the notif-worker refuses the sandbox's public one for a receiver on another port. */
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;
const acceptedAt = () => new Date().toISOString();

/** The sandbox's second Twilio account (personality twilio-backup), as the dev sms-worker's provider `backup` uses it. */
const BACKUP_ACCOUNT = { TWILIO_ACCOUNT_SID: 'ACsandboxbackup0000000000000000000', TWILIO_AUTH_TOKEN: 'sandbox-backup-token' };

async function sendSms(id: string, body: string, account: Record<string, string> = {}): Promise<void> {
  const provider = createTwilioProvider({ TWILIO_API_URL: base, ...account });
  try {
    await provider.send({ id, type: 'sms', acceptedAt: acceptedAt(), payload: { to: '+14155550100', body } } as EnvelopeOf<'sms'>, context);
  } finally {
    await provider.close();
  }
}

const faultsNow = async () => (await fetch(`${base}/faults`)).json();
const channelsShown = () => page.locator('li.message').evaluateAll((items) => items.map((item) => item.getAttribute('data-channel')));

describe('the sandbox inbox page', () => {
  test('messages delivered by the real providers appear live, newest first, e-mail HTML in a script-less sandboxed frame', async () => {
    await page.goto(`${base}/inbox`);
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    await page.getByText('Nothing here yet').waitFor();

    await sendSms('sms-browser-1', 'hello from the browser test');
    await page.getByText('hello from the browser test').waitFor();

    const email = createSmtpProvider({ SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
    try {
      const html = '<h2>Rich hello</h2><p>Your receipt</p><script>parent.document.title = "pwned"</script><img src="x" onerror="parent.document.title = \'pwned\'">';
      await email.send({ id: 'email-browser-1', type: 'email', acceptedAt: acceptedAt(), payload: { to: 'ada@example.com', subject: 'Welcome aboard', text: 'plain hello', html } }, context);
    } finally {
      await email.close();
    }
    const webhook = createWebhookProvider({ NOTIF_WEBHOOK_URL: `${base}/webhooks/notifications`, NOTIF_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await webhook.send({ id: 'notif-browser-1', type: 'notif', acceptedAt: acceptedAt(), payload: { recipient: 'user-42', title: 'Your order shipped', body: 'Parcel 7 is on its way', data: { orderId: 7 } } }, context);

    await page.getByText('Your order shipped').waitFor();
    const frame = page.frameLocator('iframe[title="HTML of Welcome aboard"]');
    await frame.getByRole('heading', { name: 'Rich hello' }).waitFor();
    expect(await page.locator('iframe.html').getAttribute('sandbox')).toBe('');
    expect(await page.title()).toBe('Sandbox inbox · relay-stack'); // the e-mail's script and onerror never ran
    await page.getByText('Headers').click();
    await page.getByText(/^Message-ID: <email-browser-1@relay-stack>/m).waitFor();
    expect(await channelsShown()).toEqual(['notif', 'email', 'sms']);
    await page.getByRole('button', { name: 'All 3' }).waitFor();
  });

  test('the channel filter shows only that channel, and new messages of another channel stay out of view', async () => {
    await page.getByRole('button', { name: /^SMS/ }).click();
    await page.getByText('Your order shipped').waitFor({ state: 'detached' });
    expect(await channelsShown()).toEqual(['sms']);
    await sendSms('sms-browser-2', 'second text, shown on top');
    await page.getByText('second text, shown on top').waitFor();
    expect(await channelsShown()).toEqual(['sms', 'sms']);

    await page.getByRole('button', { name: /^Notifications/ }).click();
    await page.getByText('Your order shipped').waitFor();
    await page.getByText('hello from the browser test').waitFor({ state: 'detached' });
    expect(await channelsShown()).toEqual(['notif']);
    await page.getByRole('button', { name: /^All/ }).click();
    await page.getByRole('button', { name: 'All 4' }).waitFor();
    expect(await channelsShown()).toEqual(['sms', 'notif', 'email', 'sms']);
  });

  test("the failure switches change the sandbox's faults, and changes made elsewhere show on the page", async () => {
    const transient = page.getByRole('group', { name: 'Transient failures' });
    await transient.getByRole('button', { name: '100%' }).click();
    await transient.getByRole('button', { name: '100%', pressed: true }).waitFor();
    expect(await faultsNow()).toEqual({ transientRate: 1, permanentRate: 0, delayMs: 0, rejectCredentials: false });
    await expect(sendSms('sms-browser-refused', 'refused')).rejects.toMatchObject({ status: 503 });

    await page.getByRole('button', { name: 'Reset faults' }).click();
    await page.getByText('In force: transient 0%, permanent 0%, delay 0 ms.').waitFor();
    expect(await faultsNow()).toEqual({ transientRate: 0, permanentRate: 0, delayMs: 0, rejectCredentials: false });

    // Someone else (make chaos, a test, another tab) sets faults: the page follows.
    await fetch(`${base}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transientRate: 0.1, delayMs: 500 }) });
    await page.getByRole('group', { name: 'Answer delay' }).getByRole('button', { name: '0.5 s', pressed: true }).waitFor();
    await transient.getByRole('button', { name: '10%', pressed: true }).waitFor();

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await fetch(`${base}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transientRate: 0, delayMs: 0 }) });
  });

  test('the provider switches take one personality down and back up; each message names the personality that took it', async () => {
    const primary = page.getByRole('group', { name: 'twilio-primary' });
    await primary.getByRole('button', { name: 'Take down' }).click();
    await primary.getByRole('button', { name: 'Bring back up' }).waitFor();
    expect(await (await fetch(`${base}/faults/providers`)).json()).toMatchObject({ 'twilio-primary': 'down', 'twilio-backup': 'up' });
    await expect(sendSms('sms-browser-primary-down', 'refused by the primary')).rejects.toMatchObject({ status: 503 });

    await sendSms('sms-browser-backup', 'taken by the backup', BACKUP_ACCOUNT);
    await page.locator('li.message', { hasText: 'taken by the backup' }).getByText('via twilio-backup').waitFor();

    // Switched back elsewhere (a test, curl): the page follows, and the primary takes messages again.
    await fetch(`${base}/faults/providers/twilio-primary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'up' }) });
    await primary.getByRole('button', { name: 'Take down' }).waitFor();
    await sendSms('sms-browser-primary-back', 'the primary again');
    await page.locator('li.message', { hasText: 'the primary again' }).getByText('via twilio-primary').waitFor();
  });
});
