import type { StatusEvent } from '../../shared/status/status-event';

/** The form fields of a Twilio message status callback we read (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status). */
export interface TwilioStatusForm {
  MessageSid?: unknown;
  MessageStatus?: unknown;
  ErrorCode?: unknown;
}

export type TwilioCallbackDecision =
  | { kind: 'event'; event: StatusEvent }
  /** A step we do not record (queued, sending, accepted, scheduled, read, ...): acknowledged so Twilio stops. */
  | { kind: 'ignored'; twilioStatus: string }
  | { kind: 'invalid'; field: string; message: string };

/** Our envelope ids: a UUID, or the hex id derived from an idempotency key; nothing that could smuggle markup or paths. */
const RELAY_ID = /^[A-Za-z0-9-]{1,128}$/;
/** SM (SMS) or MM (MMS) and 32 hex digits. */
const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const TWILIO_STATUS = /^[a-z_]{1,32}$/;
const ERROR_CODE = /^\d{1,10}$/;

/**
 * Twilio's MessageStatus as our status: `sent` → sent, `delivered` → delivered, `undelivered` and `failed` → failed
 * (detail: the ErrorCode). The event id names the Twilio status, so Twilio's own retries of one callback collapse
 * into one event; `at` is when we received it (Twilio's callbacks carry no time of their own).
 */
export function mapTwilioCallback(form: TwilioStatusForm, relayId: unknown, receivedAt: Date): TwilioCallbackDecision {
  if (typeof relayId !== 'string' || !RELAY_ID.test(relayId)) return { kind: 'invalid', field: 'relay_id', message: 'the callback URL must carry our message id' };
  if (typeof form.MessageSid !== 'string' || !MESSAGE_SID.test(form.MessageSid)) return { kind: 'invalid', field: 'MessageSid', message: 'must be a Twilio message SID' };
  if (typeof form.MessageStatus !== 'string' || !TWILIO_STATUS.test(form.MessageStatus)) return { kind: 'invalid', field: 'MessageStatus', message: 'must be a Twilio message status' };
  const errorCode = form.ErrorCode;
  if (errorCode !== undefined && errorCode !== '' && (typeof errorCode !== 'string' || !ERROR_CODE.test(errorCode))) {
    return { kind: 'invalid', field: 'ErrorCode', message: 'must be a number' };
  }
  const twilioStatus = form.MessageStatus;
  const status = twilioStatus === 'delivered' ? 'delivered' : twilioStatus === 'sent' ? 'sent' : twilioStatus === 'undelivered' || twilioStatus === 'failed' ? 'failed' : undefined;
  if (!status) return { kind: 'ignored', twilioStatus };
  const detail = status === 'failed' ? `twilio ${twilioStatus}${errorCode ? ` ${errorCode}` : ''}` : `twilio ${twilioStatus}`;
  return {
    kind: 'event',
    event: {
      eventId: `${relayId}:twilio:${twilioStatus}`,
      messageId: relayId,
      channel: 'sms',
      status,
      at: receivedAt.toISOString(),
      detail,
      provider: 'twilio',
      providerMessageId: form.MessageSid,
    },
  };
}
