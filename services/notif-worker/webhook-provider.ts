import { z } from 'zod';
import { loadConfig, positiveIntVar, stringVar } from '../shared/config/load-config';
import type { Provider } from '../shared/worker/provider';
import { classifyWebhookError, WebhookHttpError } from './classify-webhook-error';
import { webhookSecretsVar } from '../shared/webhook/secrets';
import { signWebhook, WEBHOOK_HEADERS } from '../shared/webhook/signature';

export const webhookConfigSchema = z.object({
  NOTIF_WEBHOOK_URL: stringVar('http://127.0.0.1:8025/webhooks/notifications'),
  /** One `whsec_` secret, or several (space- or comma-separated) while rotating: each request is signed with all. */
  NOTIF_WEBHOOK_SECRET: webhookSecretsVar(),
  NOTIF_TIMEOUT_MS: positiveIntVar(10_000),
});

export function createWebhookProvider(env: NodeJS.ProcessEnv): Provider<'notif'> {
  const config = loadConfig(webhookConfigSchema, env);
  return {
    type: 'notif',
    async send(envelope, context) {
      const body = JSON.stringify({ id: envelope.id, acceptedAt: envelope.acceptedAt, attempt: context.attempt, ...envelope.payload });
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetch(config.NOTIF_WEBHOOK_URL, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // Standard Webhooks: the id stays the same on every retry, the timestamp is this attempt's.
          [WEBHOOK_HEADERS.id]: envelope.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(config.NOTIF_WEBHOOK_SECRET, envelope.id, timestamp, body),
          'x-relay-message-id': envelope.id,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.NOTIF_TIMEOUT_MS),
      });
      // Drain the body so the keep-alive socket can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status >= 300) throw new WebhookHttpError(response.status);
    },
    classify: classifyWebhookError,
    async close() {},
  };
}
