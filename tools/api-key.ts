/**
 * `make api-key NAME=... CHANNELS=sms,email,notif RATE=... [BURST=...] [RECIPIENT_LIMIT=off] [STATUS_WEBHOOK_URL=https://...]`:
 * creates an API key,
 * stores only its SHA-256 in API_KEYS_FILE (default .run/api-keys.json; replaces a key of the same name) and
 * prints the key once, on the last line of stdout. With STATUS_WEBHOOK_URL, the key's status webhook gets a new
 * `whsec_` signing secret, printed once too (on the line before the key). The running app picks the change up within a second.
 * `node dist/tools/api-key.js --revoke NAME` removes one; `--list` prints names and limits (never keys).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addKey, CHANNELS, KEY_DEFAULTS, readKeyFile, revokeKey, type Channel } from '../services/app/auth/api-keys';

function fail(message: string): never {
  process.stderr.write(`api-key: ${message}\n`);
  process.exit(2);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      channels: { type: 'string', default: CHANNELS.join(',') },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'recipient-limit': { type: 'string', default: 'on' },
      'status-webhook-url': { type: 'string', default: '' },
      file: { type: 'string', default: process.env.API_KEYS_FILE || '.run/api-keys.json' },
      revoke: { type: 'string' },
      list: { type: 'boolean', default: false },
    },
  });
  const file = path.resolve(values.file);
  if (values.list) {
    for (const key of readKeyFile(file).keys) process.stdout.write(`${key.name}\t${key.channels.join(',')}\trate=${key.rate}/s burst=${key.burst} recipient_limit=${key.recipientLimit}${key.statusWebhook ? ` status_webhook=${key.statusWebhook.url}` : ''}\n`);
    return;
  }
  if (values.revoke !== undefined) {
    if (!revokeKey(file, values.revoke)) fail(`no key named "${values.revoke}" in ${file}`);
    process.stdout.write(`revoked ${values.revoke} in ${file}\n`);
    return;
  }
  if (!values.name) fail('NAME is required: make api-key NAME=billing CHANNELS=sms,email RATE=10');
  const channels = values.channels.split(',').map((c) => c.trim()).filter(Boolean);
  const unknown = channels.filter((c) => !(CHANNELS as readonly string[]).includes(c));
  if (unknown.length > 0 || channels.length === 0) fail(`CHANNELS must be a list of ${CHANNELS.join(', ')} (got "${values.channels}")`);
  const number = (value: string | undefined, what: string) => {
    if (value === undefined || value === '') return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) fail(`${what} must be a positive number (got "${value}")`);
    return parsed;
  };
  const webhookUrl = values['status-webhook-url'];
  if (webhookUrl && !/^https?:\/\/[^/]/.test(webhookUrl)) fail(`STATUS_WEBHOOK_URL must be an http(s) URL (got "${webhookUrl}")`);
  const recipientLimit = !['off', 'false', '0', 'no'].includes(values['recipient-limit'].toLowerCase());
  try {
    const { key, record } = addKey(file, {
      name: values.name,
      channels: channels as Channel[],
      rate: number(values.rate, 'RATE') ?? KEY_DEFAULTS.rate,
      burst: number(values.burst, 'BURST'),
      recipientLimit,
      ...(webhookUrl ? { statusWebhookUrl: webhookUrl } : {}),
    });
    process.stdout.write(`created API key "${record.name}" (${record.channels.join(',')}, ${record.rate}/s, burst ${record.burst}, recipient limit ${record.recipientLimit ? 'on' : 'off'}); hash stored in ${file}\n`);
    if (record.statusWebhook) {
      process.stdout.write(`status webhook ${record.statusWebhook.url}; verify its webhook-signature with this secret (shown once, here):\n`);
      process.stdout.write(`${record.statusWebhook.secret}\n`);
    }
    process.stdout.write('the key is shown once, here; send it as "Authorization: Bearer <key>":\n');
    process.stdout.write(`${key}\n`);
  } catch (error) {
    fail((error as Error).message);
  }
}

main();
