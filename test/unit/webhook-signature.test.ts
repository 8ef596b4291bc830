import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../services/shared/config/load-config';
import { webhookConfigSchema } from '../../services/notif-worker/webhook-provider';
import { DEV_WEBHOOK_SECRET, parseSecretList } from '../../services/shared/webhook/secrets';
import { decodeSecret, signWebhook, verifyWebhook } from '../../services/shared/webhook/signature';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const secret = newSecret();
const id = 'msg_n-1';
const body = '{"id":"n-1","title":"t"}';
const now = 1_800_000_000;
const headers = (signature: string | undefined, timestamp = String(now), messageId = id) => ({ id: messageId, timestamp, signature });

describe('webhook signatures (Standard Webhooks)', () => {
  test('a receiver accepts what the worker signed', () => {
    const signature = signWebhook([secret], id, now, body);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifyWebhook([secret], headers(signature), body, now)).toEqual({ ok: true });
  });

  test('a changed body, id or secret, or a missing header, is refused', () => {
    const signature = signWebhook([secret], id, now, body);
    expect(verifyWebhook([secret], headers(signature), body.replace('t"', 'x"'), now)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook([secret], headers(signature, String(now), 'msg_other'), body, now)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook([newSecret()], headers(signature), body, now)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook([secret], headers(undefined), body, now).ok).toBe(false);
    expect(verifyWebhook([secret], { id: undefined, timestamp: String(now), signature }, body, now).ok).toBe(false);
    expect(verifyWebhook([secret], headers(signature.replace('v1,', 'v2,')), body, now)).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  test('a replay outside the tolerance window is refused even with a valid signature', () => {
    const signature = signWebhook([secret], id, now, body);
    expect(verifyWebhook([secret], headers(signature), body, now + 301)).toEqual({ ok: false, reason: 'timestamp outside tolerance' });
    // The timestamp is signed: moving it forward breaks the signature.
    expect(verifyWebhook([secret], headers(signature, String(now + 300)), body, now + 301)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook([secret], headers(signature, '1.8e9'), body, now)).toEqual({ ok: false, reason: 'invalid timestamp' });
  });

  test('while a secret is rotated the sender signs with both, and a receiver holding either one accepts', () => {
    const [oldSecret, rotated] = [secret, newSecret()];
    const signature = signWebhook([rotated, oldSecret], id, now, body);
    expect(signature.split(' ')).toHaveLength(2);
    expect(verifyWebhook([oldSecret], headers(signature), body, now)).toEqual({ ok: true });
    expect(verifyWebhook([rotated], headers(signature), body, now)).toEqual({ ok: true });
    // A receiver that rotates first (holding both) accepts a sender still signing with the old one alone.
    expect(verifyWebhook([rotated, oldSecret], headers(signWebhook([oldSecret], id, now, body)), body, now)).toEqual({ ok: true });
    expect(verifyWebhook([newSecret()], headers(signature), body, now).ok).toBe(false);
  });

  test('secrets must be whsec_ base64 of 24 to 64 bytes; a list may use spaces or commas', () => {
    expect(decodeSecret(DEV_WEBHOOK_SECRET)).toHaveLength(32);
    expect(() => decodeSecret('relay-dev-webhook-secret')).toThrow('must start with whsec_');
    expect(() => decodeSecret('whsec_not base64!')).toThrow('base64');
    expect(() => decodeSecret(`whsec_${randomBytes(16).toString('base64')}`)).toThrow('24 to 64 bytes, not 16');
    expect(parseSecretList(' whsec_a, whsec_b whsec_c ')).toEqual(['whsec_a', 'whsec_b', 'whsec_c']);
  });

  test('the notif-worker refuses a bad NOTIF_WEBHOOK_SECRET at boot without printing it, and defaults to the dev secret', () => {
    const two = `${newSecret()},${newSecret()}`;
    expect(loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_SECRET: two }).NOTIF_WEBHOOK_SECRET).toEqual(two.split(','));
    expect(loadConfig(webhookConfigSchema, {}).NOTIF_WEBHOOK_SECRET).toEqual([DEV_WEBHOOK_SECRET]);
    expect(() => loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_SECRET: `${secret} a-plain-password` })).toThrow(
      'NOTIF_WEBHOOK_SECRET: secret 2 of 2 must start with whsec_',
    );
    expect(() => loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_SECRET: 'a-plain-password' })).not.toThrow(/a-plain-password/);
  });
});
