import { ANONYMOUS_CLIENT, idempotentMessageId, isValidIdempotencyKey } from '../../services/app/idempotency';
import { createEnvelope } from '../../services/shared/envelope/envelope';
import { RecentIds } from '../../services/shared/worker/recent-ids';

describe('idempotency keys', () => {
  test('the same client and key always give the same UUID v5 message id', () => {
    const id = idempotentMessageId(ANONYMOUS_CLIENT, 'order-42');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idempotentMessageId(ANONYMOUS_CLIENT, 'order-42')).toBe(id);
  });

  test('without a key, ids are UUID v7: later messages sort after earlier ones (the status tables grow at one end)', async () => {
    const first = createEnvelope('sms', { to: '+14155550100', body: 'a' }).id;
    await new Promise((resolve) => setTimeout(resolve, 2));
    const later = Array.from({ length: 100 }, () => createEnvelope('sms', { to: '+14155550100', body: 'b' }).id);
    for (const id of [first, ...later]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(later.every((id) => id > first)).toBe(true);
    expect(new Set(later).size).toBe(100);
  });

  test('another key, or the same key from another client, gives another id', () => {
    const id = idempotentMessageId(ANONYMOUS_CLIENT, 'order-42');
    expect(idempotentMessageId(ANONYMOUS_CLIENT, 'order-43')).not.toBe(id);
    expect(idempotentMessageId('key_live_1', 'order-42')).not.toBe(id);
    // The separator keeps ("a", "b\nc") and ("a\nb", "c") apart only if client ids have no newline; they are ids.
    expect(idempotentMessageId('a', 'bc')).not.toBe(idempotentMessageId('ab', 'c'));
  });

  test.each([
    ['a word', 'order-42', true],
    ['255 characters', 'x'.repeat(255), true],
    ['spaces and punctuation', 'with spaces and ~!@#', true],
    ['empty', '', false],
    ['256 characters', 'x'.repeat(256), false],
    ['a tab', 'tab\there', false],
    ['non-ASCII', 'é', false],
  ])('a key of %s is valid: %s', (_what, key, valid) => {
    expect(isValidIdempotencyKey(key)).toBe(valid);
  });
});

describe('RecentIds', () => {
  test('remembers ids up to its capacity, forgetting the oldest first', () => {
    const recent = new RecentIds(2);
    recent.add('a');
    recent.add('b');
    recent.add('a'); // refreshed: b is now the oldest
    recent.add('c');
    expect([recent.has('a'), recent.has('b'), recent.has('c'), recent.size]).toEqual([true, false, true, 2]);
  });

  test('a capacity of 0 remembers nothing', () => {
    const recent = new RecentIds(0);
    recent.add('a');
    expect(recent.has('a')).toBe(false);
  });
});
