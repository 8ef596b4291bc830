import twilio from 'twilio';

/** One status Twilio reports for a message, and the ErrorCode it carries (undelivered, failed). */
export interface CallbackStep {
  status: 'sent' | 'delivered' | 'undelivered' | 'failed';
  errorCode?: string;
}

/** What one callback came to, for `GET /status-callbacks` (tests and people watching the demo). */
export interface CallbackRecord {
  sid: string;
  url: string;
  status: CallbackStep['status'];
  attempts: number;
  /** `acknowledged` (2xx), `retrying`, or `gave_up` after the last retry. */
  outcome: 'acknowledged' | 'retrying' | 'gave_up';
  lastAnswer?: string;
}

export interface StatusCallbackOptions {
  accountSid: string;
  authToken: string;
  /** Pause before each step (after the previous one was acknowledged or given up). Default 100 ms. */
  stepDelayMs?: number;
  /** Waits before each retry of a callback the receiver did not answer 2xx. Default 1 s, 2 s, 4 s, 8 s. */
  retryDelaysMs?: readonly number[];
  /** Longest wait for the receiver's answer. Default 5 s. */
  timeoutMs?: number;
}

const SMS_CALLBACK_MAGIC: Record<string, readonly CallbackStep[]> = {
  /** The carrier never delivers: `sent`, then `undelivered` with 30003 (Unreachable destination handset). */
  '+15005550007': [{ status: 'sent' }, { status: 'undelivered', errorCode: '30003' }],
  /** Callbacks overtake each other: `delivered` arrives before `sent`. */
  '+15005550008': [{ status: 'delivered' }, { status: 'sent' }],
};
const DEFAULT_STEPS: readonly CallbackStep[] = [{ status: 'sent' }, { status: 'delivered' }];

/** The callbacks a message to `to` receives, in the order they are sent. */
export function callbackPlan(to: string): readonly CallbackStep[] {
  return SMS_CALLBACK_MAGIC[to] ?? DEFAULT_STEPS;
}

const MAX_RECORDS = 1000;

/**
 * Sends Twilio-style message status callbacks as Twilio does: form-encoded fields (MessageSid, MessageStatus,
 * AccountSid, From, To, ErrorCode, ...) POSTed to the message's StatusCallback URL with `X-Twilio-Signature`
 * computed by the twilio SDK itself (HMAC-SHA1 of the URL and the sorted fields, with the account's auth token).
 * Steps of one message go one after the other; a step the receiver does not answer 2xx is retried after each
 * delay in `retryDelaysMs`, then given up (Twilio's own retry is similar in spirit: a few attempts, then nothing).
 */
/** One accepted message whose callbacks are due; `account` signs them (default: the sender's own account). */
export interface ScheduledCallback {
  sid: string;
  from: string | undefined;
  to: string;
  callbackUrl: string;
  account?: { accountSid: string; authToken: string };
}

export class StatusCallbackSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly records: CallbackRecord[] = [];
  private stopped = false;
  private readonly stepDelayMs: number;
  private readonly retryDelaysMs: readonly number[];
  private readonly timeoutMs: number;

  constructor(private readonly options: StatusCallbackOptions) {
    this.stepDelayMs = options.stepDelayMs ?? 100;
    this.retryDelaysMs = options.retryDelaysMs ?? [1000, 2000, 4000, 8000];
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Starts the callbacks of one accepted message (returns at once). */
  schedule(message: ScheduledCallback): void {
    const steps = callbackPlan(message.to);
    const run = async (index: number) => {
      const step = steps[index];
      if (!step || this.stopped) return;
      await this.deliver(message, step);
      this.after(this.stepDelayMs, () => void run(index + 1));
    };
    this.after(this.stepDelayMs, () => void run(0));
  }

  list(): CallbackRecord[] {
    return [...this.records];
  }

  clear(): void {
    this.records.length = 0;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async deliver(message: ScheduledCallback, step: CallbackStep): Promise<void> {
    const account = message.account ?? this.options;
    const params: Record<string, string> = {
      AccountSid: account.accountSid,
      ApiVersion: '2010-04-01',
      From: message.from ?? '',
      MessageSid: message.sid,
      MessageStatus: step.status,
      SmsSid: message.sid,
      SmsStatus: step.status,
      To: message.to,
      ...(step.errorCode ? { ErrorCode: step.errorCode } : {}),
    };
    const record: CallbackRecord = { sid: message.sid, url: message.callbackUrl, status: step.status, attempts: 0, outcome: 'retrying' };
    this.records.push(record);
    if (this.records.length > MAX_RECORDS) this.records.shift();
    const signature = twilio.getExpectedTwilioSignature(account.authToken, message.callbackUrl, params);
    for (let attempt = 0; attempt <= this.retryDelaysMs.length && !this.stopped; attempt += 1) {
      if (attempt > 0) await new Promise<void>((resolve) => this.after(this.retryDelaysMs[attempt - 1] as number, resolve));
      if (this.stopped) return;
      record.attempts = attempt + 1;
      try {
        const response = await fetch(message.callbackUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'user-agent': 'TwilioProxy/1.1' },
          body: new URLSearchParams(params).toString(),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await response.arrayBuffer();
        record.lastAnswer = `HTTP ${response.status}`;
        if (response.ok) {
          record.outcome = 'acknowledged';
          return;
        }
      } catch (error) {
        record.lastAnswer = (error as Error).message;
      }
    }
    record.outcome = 'gave_up';
  }

  private after(ms: number, callback: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
  }
}
