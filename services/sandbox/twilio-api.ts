import { randomBytes } from 'node:crypto';
import express, { type Router } from 'express';
import type { FaultInjector, Personality } from './faults';
import type { MessageStore } from './message-store';
import type { StatusCallbackSender } from './status-callbacks';

/** One Twilio account the sandbox plays; the account SID in the request path picks it. */
export interface TwilioAccount {
  personality: Personality;
  accountSid: string;
  authToken: string;
}

export interface TwilioApiOptions {
  accounts: readonly TwilioAccount[];
  store: MessageStore;
  faults: FaultInjector;
  /** Sends the status callbacks a message asked for with its StatusCallback field. */
  callbacks: StatusCallbackSender;
}

/** Twilio-shaped error body: https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions */
const twilioError = (status: number, code: number, message: string) => ({
  code,
  message,
  more_info: `https://www.twilio.com/docs/errors/${code}`,
  status,
});

/** `POST /2010-04-01/Accounts/{sid}/Messages.json` as the real `twilio` SDK calls it: basic auth, form fields. */
export function twilioApi(options: TwilioApiOptions): Router {
  const router = express.Router();
  router.post('/2010-04-01/Accounts/:sid/Messages.json', express.urlencoded({ extended: false, limit: '64kb' }), async (request, response) => {
    await options.faults.pause();
    const [scheme, encoded] = (request.headers.authorization ?? '').split(' ');
    const [user, password] = Buffer.from(encoded ?? '', 'base64').toString('utf8').split(':');
    const account = options.accounts.find((candidate) => candidate.accountSid === request.params.sid);
    if (options.faults.rejectCredentials || !account || scheme !== 'Basic' || user !== account.accountSid || password !== account.authToken) {
      response.status(401).json(twilioError(401, 20003, 'Authenticate'));
      return;
    }
    if (options.faults.isDown(account.personality)) return void response.status(503).json(twilioError(503, 20503, 'Service unavailable'));
    const form = request.body as Record<string, string | undefined>;
    const to = form.To;
    const body = form.Body;
    if (!to) return void response.status(400).json(twilioError(400, 21604, "A 'To' phone number is required."));
    if (!form.From && !form.MessagingServiceSid) return void response.status(400).json(twilioError(400, 21603, "A 'From' phone number is required."));
    if (!body) return void response.status(400).json(twilioError(400, 21602, 'Message body is required.'));

    const id = request.header('x-relay-message-id');
    const decision = options.faults.decide('sms', to, id ?? `${to}:${body}`);
    if (decision === 'permanent') {
      return void response.status(400).json(twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`));
    }
    if (decision === 'transient') return void response.status(503).json(twilioError(503, 20503, 'Service unavailable'));

    const sid = `SM${randomBytes(16).toString('hex')}`;
    const callbackUrl = validCallbackUrl(form.StatusCallback);
    if (form.StatusCallback !== undefined && !callbackUrl) return void response.status(400).json(twilioError(400, 21609, 'The StatusCallback URL is not a valid URL.'));
    options.store.add({ id, channel: 'sms', personality: account.personality, to, content: { sid, from: form.From, body, ...(callbackUrl ? { statusCallback: callbackUrl } : {}) } });
    // Each account signs the callbacks of its own messages with its own auth token, as Twilio does.
    if (callbackUrl) options.callbacks.schedule({ sid, from: form.From, to, callbackUrl, account: { accountSid: account.accountSid, authToken: account.authToken } });
    const now = new Date().toUTCString();
    response.status(201).json({
      sid,
      account_sid: account.accountSid,
      api_version: '2010-04-01',
      body,
      date_created: now,
      date_updated: now,
      date_sent: null,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: form.From ?? null,
      messaging_service_sid: form.MessagingServiceSid ?? null,
      num_media: '0',
      num_segments: String(Math.max(1, Math.ceil(body.length / 153))),
      price: null,
      price_unit: 'USD',
      status: 'queued',
      subresource_uris: { media: `/2010-04-01/Accounts/${account.accountSid}/Messages/${sid}/Media.json` },
      to,
      uri: `/2010-04-01/Accounts/${account.accountSid}/Messages/${sid}.json`,
    });
  });
  return router;
}

/** An absolute http(s) URL, as Twilio requires of StatusCallback, or undefined. */
function validCallbackUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.length > 2048) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}
