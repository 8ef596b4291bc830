import { foldEvents, wins } from '../../services/status-service/fold-events';
import type { StatusEvent } from '../../services/shared/status/status-event';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
const event = (status: StatusEvent['status'], second: number, extra: Partial<StatusEvent> = {}): StatusEvent => ({
  eventId: `m:${status}:${second}`, messageId: 'm', channel: 'sms', status, at: at(second), ...extra,
});

describe('the ordering rule', () => {
  test('a higher rank wins whatever its time: a late retrying never overwrites delivered', () => {
    expect(wins(event('delivered', 1), event('retrying', 9))).toBe(true);
    expect(wins(event('retrying', 9), event('delivered', 1))).toBe(false);
  });

  test('between equal ranks the later event wins (a provider failure after a delivered guess)', () => {
    expect(wins(event('failed', 5), event('delivered', 4))).toBe(true);
    expect(wins(event('delivered', 4), event('failed', 5))).toBe(false);
  });

  test('an exact tie is broken by event id, so every replica folds alike', () => {
    const a = event('retrying', 3, { eventId: 'm:retrying:1' });
    const b = event('retrying', 3, { eventId: 'm:retrying:2' });
    expect(wins(b, a)).toBe(true);
    expect(wins(a, b)).toBe(false);
  });
});

describe('foldEvents', () => {
  test('one row per message, in id order, whatever the order the events came in', () => {
    const folds = foldEvents([
      event('sent', 3, { messageId: 'b', provider: 'twilio', providerMessageId: 'SM1', attempt: 2 }),
      event('retrying', 2, { messageId: 'b', attempt: 1 }),
      event('queued', 1, { messageId: 'b', owner: { keyName: 'k' } }),
      event('queued', 1, { messageId: 'a' }),
    ]);
    expect(folds.map((fold) => fold.id)).toEqual(['a', 'b']);
    expect(folds[1]).toMatchObject({
      status: 'sent', statusAt: at(3), owner: 'k', attempts: 2, provider: 'twilio', providerMessageId: 'SM1', sentAt: at(3), createdAt: at(1),
    });
  });

  test('a provider id seen on a losing event is still kept', () => {
    const [fold] = foldEvents([event('delivered', 5), event('sent', 3, { provider: 'twilio', providerMessageId: 'SM2' })]);
    expect(fold).toMatchObject({ status: 'delivered', provider: 'twilio', providerMessageId: 'SM2', sentAt: at(3) });
  });
});
