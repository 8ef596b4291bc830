import { mapTwilioCallback } from '../../services/app/callbacks/twilio-status';
import { statusEventSchema } from '../../services/shared/status/status-event';

const SID = `SM${'0123456789abcdef'.repeat(2)}`;
const AT = new Date('2026-01-02T03:04:05.000Z');

describe('Twilio MessageStatus → our status', () => {
  test.each([
    ['sent', 'sent', 'twilio sent'],
    ['delivered', 'delivered', 'twilio delivered'],
    ['undelivered', 'failed', 'twilio undelivered 30003'],
    ['failed', 'failed', 'twilio failed 30003'],
  ])('%s becomes %s', (twilioStatus, status, detail) => {
    const decision = mapTwilioCallback({ MessageSid: SID, MessageStatus: twilioStatus, ErrorCode: twilioStatus.endsWith('ed') && status === 'failed' ? '30003' : undefined }, 'msg-1', AT);
    expect(decision).toEqual({
      kind: 'event',
      event: { eventId: `msg-1:twilio:${twilioStatus}`, messageId: 'msg-1', channel: 'sms', status, at: AT.toISOString(), detail, provider: 'twilio', providerMessageId: SID },
    });
    if (decision.kind === 'event') expect(statusEventSchema.safeParse(decision.event).success).toBe(true);
  });

  test('a failure without an ErrorCode still fails, with the Twilio status as detail', () => {
    expect(mapTwilioCallback({ MessageSid: SID, MessageStatus: 'failed' }, 'msg-1', AT)).toMatchObject({ kind: 'event', event: { status: 'failed', detail: 'twilio failed' } });
  });

  test.each(['queued', 'sending', 'accepted', 'scheduled', 'read', 'canceled'])('%s is acknowledged and not recorded', (twilioStatus) => {
    expect(mapTwilioCallback({ MessageSid: SID, MessageStatus: twilioStatus }, 'msg-1', AT)).toEqual({ kind: 'ignored', twilioStatus });
  });

  test.each([
    ['no relay id', { MessageSid: SID, MessageStatus: 'sent' }, undefined, 'relay_id'],
    ['a relay id given twice (an array)', { MessageSid: SID, MessageStatus: 'sent' }, ['a', 'b'], 'relay_id'],
    ['a relay id with a path in it', { MessageSid: SID, MessageStatus: 'sent' }, '../x', 'relay_id'],
    ['no MessageSid', { MessageStatus: 'sent' }, 'msg-1', 'MessageSid'],
    ['a MessageSid that is not a SID', { MessageSid: 'SMnothex', MessageStatus: 'sent' }, 'msg-1', 'MessageSid'],
    ['no MessageStatus', { MessageSid: SID }, 'msg-1', 'MessageStatus'],
    ['a MessageStatus given twice', { MessageSid: SID, MessageStatus: ['sent', 'delivered'] }, 'msg-1', 'MessageStatus'],
    ['a MessageStatus with markup', { MessageSid: SID, MessageStatus: '<b>' }, 'msg-1', 'MessageStatus'],
    ['an ErrorCode that is not a number', { MessageSid: SID, MessageStatus: 'failed', ErrorCode: '30003; drop' }, 'msg-1', 'ErrorCode'],
  ])('%s is invalid, naming the field', (_name, form, relayId, field) => {
    expect(mapTwilioCallback(form, relayId, AT)).toMatchObject({ kind: 'invalid', field });
  });
});
