import { APP_URL, sleep, type Channel } from './stack-http';

/** What the recipient of a request is meant to do at the sandbox (docs/architecture.md, magic recipients). */
export type Recipient = 'normal' | 'flaky' | 'fail-permanent';

export interface AcceptedMessage {
  id: string;
  channel: Channel;
  recipient: Recipient;
  /** Client clock (epoch ms) when the 202 arrived. */
  acceptedAt: number;
  /** HTTP attempts it took (503s and network errors before the 202). */
  attempts: number;
}

export interface LoadOptions {
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  total: number;
  concurrency: number;
  /** Share of requests sent to the `flaky` and `fail-permanent` magic recipients. */
  flakyShare: number;
  permanentShare: number;
  /** Give a request up (counted in `gaveUp`) when it has not been accepted after this long. */
  retryForMs: number;
  /** The channels to send, in turn (all three by default). */
  channels?: Channel[];
  /** Open-loop pacing: request n is not sent before start + n / ratePerSecond (undefined: as fast as lanes allow). */
  ratePerSecond?: number;
  /** Called after each settled request with the number settled so far. */
  onProgress?: (settled: number) => void;
}

export interface LoadResult {
  accepted: Map<string, AcceptedMessage>;
  /** Every 503 answer, including those later retried into a 202. */
  unavailable503: number;
  /** Epoch ms of the first and last 503: the outage as clients saw it. */
  first503At?: number;
  last503At?: number;
  /** Network errors and timeouts (ambiguous: the message may or may not have been accepted). */
  networkErrors: number;
  /** Other answers (4xx, 500): the tool's requests are valid, so any is a bug. */
  unexpected: Map<number, number>;
  gaveUp: number;
  /** Duration of each request answered 202 (the accepting attempt only), ms. */
  acceptLatenciesMs: number[];
  startedAt: number;
}

const ROUTES: Record<Channel, string> = { sms: '/v1/sms', email: '/v1/email', notif: '/v1/notifications' };
const CHANNELS: Channel[] = ['sms', 'email', 'notif'];

function requestBody(channel: Channel, recipient: Recipient, n: number): unknown {
  const text = `chaos message ${n}`;
  if (channel === 'sms') {
    const to = { normal: `+1415555${String(n % 10_000).padStart(4, '0')}`, flaky: '+15005550003', 'fail-permanent': '+15005550001' }[recipient];
    return { to, body: text };
  }
  if (channel === 'email') {
    const to = recipient === 'normal' ? `user-${n}@example.com` : `${recipient}@sandbox.test`;
    return { to, subject: `chaos ${n}`, text };
  }
  return { recipient: recipient === 'normal' ? `user-${n}` : recipient, title: `chaos ${n}`, body: text, data: { n } };
}

/**
 * Sends `total` requests of all three types, `concurrency` in flight, and retries each one answered 503 (or lost
 * to a network error) with a capped exponential backoff, as a well-behaved client would. A request counts as
 * accepted only when the API answered 202 with an id.
 */
export async function driveLoad(options: LoadOptions): Promise<LoadResult> {
  const startedAt = Date.now();
  const result: LoadResult = { accepted: new Map(), unavailable503: 0, networkErrors: 0, unexpected: new Map(), gaveUp: 0, acceptLatenciesMs: [], startedAt };
  let next = 0;
  let settled = 0;
  const sendOne = async (n: number) => {
    const channels = options.channels ?? CHANNELS;
    const channel = channels[n % channels.length] as Channel;
    const roll = ((n * 7919) % 1000) / 1000; // deterministic spread of magic recipients over the run
    const recipient: Recipient = roll < options.permanentShare ? 'fail-permanent' : roll < options.permanentShare + options.flakyShare ? 'flaky' : 'normal';
    const body = JSON.stringify(requestBody(channel, recipient, n));
    const giveUpAt = Date.now() + options.retryForMs;
    for (let attempt = 1; ; attempt += 1) {
      let retryAfterMs = 0;
      const sentAt = Date.now();
      try {
        const response = await fetch(`${APP_URL}${ROUTES[channel]}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}`, 'x-request-id': `chaos-${n}-${attempt}` },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status === 202) {
          const id = (JSON.parse(text) as { id: string }).id;
          result.accepted.set(id, { id, channel, recipient, acceptedAt: Date.now(), attempts: attempt });
          result.acceptLatenciesMs.push(Date.now() - sentAt);
          return;
        }
        if (response.status === 503) {
          result.unavailable503 += 1;
          result.first503At ??= Date.now();
          result.last503At = Date.now();
          retryAfterMs = Number(response.headers.get('retry-after') ?? 0) * 1000;
        } else {
          result.unexpected.set(response.status, (result.unexpected.get(response.status) ?? 0) + 1);
          return;
        }
      } catch {
        result.networkErrors += 1;
      }
      if (Date.now() > giveUpAt) {
        result.gaveUp += 1;
        return;
      }
      const backoff = Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
      await sleep(Math.min(Math.max(retryAfterMs, backoff), 5000) * (0.5 + Math.random() / 2));
    }
  };
  const lane = async () => {
    while (next < options.total) {
      const n = next;
      next += 1;
      if (options.ratePerSecond) {
        const due = startedAt + (n * 1000) / options.ratePerSecond - Date.now();
        if (due > 0) await sleep(due);
      }
      await sendOne(n);
      settled += 1;
      options.onProgress?.(settled);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.total) }, lane));
  return result;
}
