import { providerRequest } from '../shared/http/provider-http';
import { signWebhook, WEBHOOK_HEADERS } from '../shared/webhook/signature';
import { classifyNetworkError } from '../shared/worker/network-errors';
import type { StatusChange } from '../shared/status/status-event';
import type { StatusWebhook } from '../app/auth/api-keys';

export type SendOutcome = { ok: true } | { ok: false; kind: 'transient' | 'permanent'; reason: string };

/** The body a client receives (docs/webhooks.md): Standard Webhooks' `type` / `timestamp` / `data` envelope. */
export function statusWebhookBody(change: StatusChange): string {
  return JSON.stringify({
    type: 'message.status',
    timestamp: change.at,
    data: {
      id: change.messageId,
      channel: change.channel,
      status: change.status,
      ...(change.previousStatus ? { previousStatus: change.previousStatus } : {}),
      at: change.at,
      ...(change.detail ? { detail: change.detail } : {}),
      ...(change.provider ? { provider: change.provider } : {}),
    },
  });
}

/**
 * POSTs one status change, signed (webhook-id = changeId, the same on every retry, so receivers deduplicate on it).
 * 2xx is done; 408, 429, 5xx and anything without an answer (refused, reset, timeout) are transient; every other
 * answer, redirects included (a webhook URL is configured, not discovered), is permanent.
 */
export async function sendStatusWebhook(webhook: StatusWebhook, change: StatusChange, timeoutMs: number, now = new Date()): Promise<SendOutcome> {
  const body = statusWebhookBody(change);
  const timestamp = Math.floor(now.getTime() / 1000);
  let status: number;
  try {
    const response = await providerRequest(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'relay-stack-status-webhooks',
        [WEBHOOK_HEADERS.id]: change.changeId,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: signWebhook([webhook.secret], change.changeId, timestamp, body),
      },
      body,
      timeoutMs,
    });
    status = response.status;
  } catch (error) {
    const failure = classifyNetworkError(error, 'status webhook');
    return { ok: false, kind: 'transient', reason: failure.reason };
  }
  if (status >= 200 && status < 300) return { ok: true };
  const transient = status === 408 || status === 429 || status >= 500;
  return { ok: false, kind: transient ? 'transient' : 'permanent', reason: `status webhook HTTP ${status}` };
}
