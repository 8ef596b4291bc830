import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addKey, hashKey, readKeyFile, revokeKey } from '../../services/app/auth/api-keys';
import { checkSmsDestination } from '../../services/app/sms-policy';
import { webhookConfigSchema } from '../../services/notif-worker/webhook-provider';
import { loadConfig } from '../../services/shared/config/load-config';
import { decodeSecret, SANDBOX_WEBHOOK_SECRET } from '../../services/shared/webhook/signature';

describe('the notif-worker webhook secret', () => {
  test('the sandbox may go without one: the worker signs with the sandbox secret', () => {
    expect(loadConfig(webhookConfigSchema, {}).NOTIF_WEBHOOK_SECRET).toEqual([SANDBOX_WEBHOOK_SECRET]);
    expect(loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_URL: 'http://sandbox:8025/webhooks/notifications' }).NOTIF_WEBHOOK_SECRET).toEqual([SANDBOX_WEBHOOK_SECRET]);
  });

  test('any other receiver without a secret fails at start, naming the variable', () => {
    expect(() => loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_URL: 'https://hooks.example.com/n' })).toThrow(/NOTIF_WEBHOOK_SECRET: required/);
    expect(() => loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_URL: 'https://hooks.example.com/n', NOTIF_WEBHOOK_SECRET: '' })).toThrow(/NOTIF_WEBHOOK_SECRET: required/);
  });

  test("the sandbox's public secret is refused for a real receiver; a secret of its own is used", () => {
    expect(() => loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_URL: 'https://hooks.example.com/n', NOTIF_WEBHOOK_SECRET: SANDBOX_WEBHOOK_SECRET })).toThrow(/public/);
    const own = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_URL: 'https://hooks.example.com/n', NOTIF_WEBHOOK_SECRET: own }).NOTIF_WEBHOOK_SECRET).toEqual([own]);
    expect(() => loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_URL: 'https://hooks.example.com/n', NOTIF_WEBHOOK_SECRET: `${own} ${SANDBOX_WEBHOOK_SECRET}` })).toThrow(/public/);
  });
});

describe('API key files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-keys-unit-'));
  const file = path.join(dir, 'api-keys.json');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a new key is 256 random bits; only its SHA-256 is written, owner-readable; revoking removes it', () => {
    const { key, record } = addKey(file, { name: 'billing', channels: ['sms', 'email'], rate: 5 });
    expect(key).toMatch(/^rk_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: 'billing', channels: ['sms', 'email'], rate: 5, burst: 10, recipientLimit: true, hash: hashKey(key) });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(revokeKey(file, 'billing')).toBe(true);
    expect(readKeyFile(file).keys).toEqual([]);
  });

  test('a missing file is no keys; an invalid one is an error naming the problem', () => {
    expect(readKeyFile(path.join(dir, 'absent.json'))).toEqual({ keys: [] });
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ keys: [{ name: 'x', hash: 'plain-text-key', channels: ['sms'], rate: 1, burst: 1 }] }));
    expect(() => readKeyFile(path.join(dir, 'bad.json'))).toThrow(/keys\.0\.hash/);
  });

  test('a status webhook gets a new whsec_ secret of 32 random bytes, stored usable; keys without one have none', () => {
    const first = addKey(file, { name: 'hooked', channels: ['sms'], statusWebhookUrl: 'https://billing.example/status' });
    const second = addKey(file, { name: 'hooked-too', channels: ['sms'], statusWebhookUrl: 'https://billing.example/status' });
    expect(decodeSecret(first.record.statusWebhook!.secret)).toHaveLength(32);
    expect(first.record.statusWebhook!.secret).not.toBe(second.record.statusWebhook!.secret);
    expect(readKeyFile(file).keys.find((key) => key.name === 'hooked')?.statusWebhook).toEqual({ url: 'https://billing.example/status', secret: first.record.statusWebhook!.secret });
    expect(addKey(file, { name: 'plain', channels: ['sms'] }).record.statusWebhook).toBeUndefined();
  });

  test("a status webhook at the sandbox's own URL is signed with the sandbox's public secret, the only one it knows", () => {
    expect(addKey(file, { name: 'dev', channels: ['sms'], statusWebhookUrl: 'http://127.0.0.1:8025/webhooks/status' }).record.statusWebhook?.secret).toBe(SANDBOX_WEBHOOK_SECRET);
  });

  test('a key file with a status webhook that is not an http(s) URL or not a whsec_ secret is refused', () => {
    const record = { name: 'x', hash: `sha256:${'0'.repeat(64)}`, channels: ['sms'], rate: 1, burst: 1 };
    fs.writeFileSync(path.join(dir, 'bad-url.json'), JSON.stringify({ keys: [{ ...record, statusWebhook: { url: 'file:///etc/passwd', secret: SANDBOX_WEBHOOK_SECRET } }] }));
    expect(() => readKeyFile(path.join(dir, 'bad-url.json'))).toThrow(/statusWebhook\.url/);
    fs.writeFileSync(path.join(dir, 'bad-secret.json'), JSON.stringify({ keys: [{ ...record, statusWebhook: { url: 'https://x.example', secret: 'hunter2' } }] }));
    expect(() => readKeyFile(path.join(dir, 'bad-secret.json'))).toThrow(/statusWebhook\.secret/);
  });
});

describe('SMS destinations', () => {
  const policy = { allowedCountries: ['US', 'CA', 'GB', 'FR'], allowedTypes: ['MOBILE', 'FIXED_LINE_OR_MOBILE'], allowedPrefixes: [] as string[] };
  test.each([
    ['+14155550100', undefined],
    ['+447911123456', 'country_not_allowed'], // Guernsey: +44 7911 is GG's mobile range, not GB
    ['+447400123456', undefined],
    ['+19005550100', 'number_type_not_allowed'],
    ['+15005550001', 'number_type_not_allowed'], // the sandbox range: a personal number unless allowed by prefix
    ['+12345', 'number_invalid'],
  ])('%s → %s', (to, code) => {
    expect(checkSmsDestination(to, policy)?.code).toBe(code);
  });

  test('an allowed prefix passes whatever its type', () => {
    expect(checkSmsDestination('+15005550001', { ...policy, allowedPrefixes: ['+1500555'] })).toBeUndefined();
  });
});
