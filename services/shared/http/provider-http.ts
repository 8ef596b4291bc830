import { Agent, request } from 'undici';

export interface ProviderRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Longest wait for the answer's headers, and again for its body (an idle gap between chunks). */
  timeoutMs: number;
}

export interface ProviderResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * One keep-alive connection pool per process for the calls to providers (Twilio's API, webhook receivers).
 * undici's `request` rather than `fetch`: the same client without the WHATWG streams, Request/Response objects and
 * per-call AbortSignal timers, which were over half of the sms and notif workers' CPU under steady load
 * (docs/performance.md). Redirects are not followed: a provider's URL is configured, not discovered.
 */
/** Largest answer read from a provider; a Twilio reply is a few kB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The provider answered with more than MAX_ANSWER_BYTES (classified as transient, like any network failure). */
export class AnswerTooLargeError extends Error {
  readonly code = 'EANSWER_TOO_LARGE';
  constructor(limit: number) {
    super(`the answer exceeded ${limit} bytes`);
  }
}

const pool = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

export async function providerRequest(url: string | URL, options: ProviderRequest): Promise<ProviderResponse> {
  const response = await request(url, {
    method: options.method as 'POST',
    headers: options.headers,
    body: options.body,
    dispatcher: pool,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  // Reading the whole answer frees the connection for the next call. It is bounded: a webhook URL is the client's
  // choice, and an answer of any size must not grow the heap.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      response.body.destroy();
      throw new AnswerTooLargeError(MAX_ANSWER_BYTES);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { status: response.statusCode, headers, text };
}
