import { signWebhook, verifyWebhook } from '../../services/shared/webhook/signature';

const secret = 'a-secret-of-more-than-16-chars';
const body = '{"id":"n-1","title":"t"}';
const now = 1_800_000_000;

describe('webhook signatures', () => {
  test('a receiver accepts what the worker signed', () => {
    const signature = signWebhook(secret, now, body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, { signature, timestamp: String(now) }, body, now)).toEqual({ ok: true });
  });

  test('a changed body, a wrong secret or a missing header is refused', () => {
    const signature = signWebhook(secret, now, body);
    expect(verifyWebhook(secret, { signature, timestamp: String(now) }, body.replace('t"', 'x"'), now)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook('another-secret-16+chars', { signature, timestamp: String(now) }, body, now)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWebhook(secret, { signature: undefined, timestamp: String(now) }, body, now).ok).toBe(false);
  });

  test('a replay outside the tolerance window is refused even with a valid signature', () => {
    const signature = signWebhook(secret, now, body);
    expect(verifyWebhook(secret, { signature, timestamp: String(now) }, body, now + 301)).toEqual({ ok: false, reason: 'timestamp outside tolerance' });
    // The timestamp is signed: moving it forward breaks the signature.
    expect(verifyWebhook(secret, { signature, timestamp: String(now + 300) }, body, now + 301)).toEqual({ ok: false, reason: 'signature mismatch' });
  });
});
