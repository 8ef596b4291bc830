import { BATCH_MAX, parseBatchRequest } from '../../services/shared/messages/batch';

const sms = { channel: 'sms', to: '+14155550100', body: 'hi' };
const email = { channel: 'email', to: 'a@example.com', subject: 's', html: '<p>x</p>' };
const notif = { channel: 'notif', recipient: 'user-1', title: 't', body: 'b', data: { k: 1 } };

describe('POST /v1/batch bodies', () => {
  test('a mixed batch becomes one item per message, in order, with the channel taken off the payload', () => {
    expect(parseBatchRequest({ messages: [sms, email, notif] })).toEqual({
      ok: true,
      items: [
        { type: 'sms', payload: { to: '+14155550100', body: 'hi' } },
        { type: 'email', payload: { to: 'a@example.com', subject: 's', html: '<p>x</p>' } },
        { type: 'notif', payload: { recipient: 'user-1', title: 't', body: 'b', data: { k: 1 } } },
      ],
    });
  });

  test('every invalid item is named by its index, with the field of its own route', () => {
    const result = parseBatchRequest({
      messages: [sms, { ...sms, to: '0415' }, { channel: 'fax', to: 'x' }, 'text', { ...email, html: undefined }, { ...notif, extra: 1 }, notif],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.details.map((detail) => detail.field)).toEqual(['messages[1].to', 'messages[2].channel', 'messages[3]', 'messages[4].text', 'messages[5]']);
    expect(result.details[4]!.message).toMatch(/extra/);
  });

  test.each([
    ['not an object', [sms], '(body)'],
    ['an unknown top-level field', { messages: [sms], mode: 'fast' }, '(body)'],
    ['messages missing', {}, 'messages'],
    ['no messages', { messages: [] }, 'messages'],
    [`more than ${BATCH_MAX} messages`, { messages: Array.from({ length: BATCH_MAX + 1 }, () => sms) }, 'messages'],
  ])('%s is refused as a whole', (_name, body, field) => {
    const result = parseBatchRequest(body);
    expect(result).toEqual({ ok: false, details: [{ field, message: expect.any(String) }] });
  });

  test(`exactly ${BATCH_MAX} messages are accepted`, () => {
    const result = parseBatchRequest({ messages: Array.from({ length: BATCH_MAX }, () => notif) });
    expect(result.ok && result.items.length).toBe(BATCH_MAX);
  });
});
