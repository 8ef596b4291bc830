import { AsyncLocalStorage } from 'node:async_hooks';
import Response from 'twilio/lib/http/response';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { providerRequest } from '../shared/http/provider-http';

/** The envelope id of the message being sent, so the sandbox can list what arrived by our id. */
export const currentMessageId = new AsyncLocalStorage<string>();

/**
 * A Twilio SDK `httpClient` (the documented extension point, https://www.twilio.com/docs/libraries/node/custom-http-client-node)
 * that sends the SDK's requests to another base URL: the local sandbox in dev and tests. The SDK still builds
 * every request and parses every reply, so the code path under test is the real one.
 */
export class RedirectingHttpClient {
  private readonly base: URL;

  constructor(baseUrl: string, private readonly timeoutMs: number) {
    this.base = new URL(baseUrl);
  }

  async request<TData>(options: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const target = new URL(options.uri);
    target.protocol = this.base.protocol;
    target.host = this.base.host;
    for (const [key, value] of Object.entries(options.params ?? {})) target.searchParams.set(key, String(value));

    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.username !== undefined) {
      headers.Authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    }
    const messageId = currentMessageId.getStore();
    if (messageId) headers['X-Relay-Message-Id'] = messageId;

    const body = options.data ? new URLSearchParams(flatten(options.data as Record<string, unknown>)).toString() : undefined;
    if (body !== undefined) headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    const response = await providerRequest(target, { method: options.method.toUpperCase(), headers, body, timeoutMs: options.timeout ?? this.timeoutMs });
    return new Response(response.status, response.text as unknown as TData, response.headers);
  }
}

/** Twilio form encoding: arrays repeat their key. */
function flatten(data: Record<string, unknown>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) pairs.push([key, String(item)]);
    else pairs.push([key, String(value)]);
  }
  return pairs;
}
