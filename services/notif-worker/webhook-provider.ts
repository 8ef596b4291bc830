import { z } from 'zod';
import { loadConfig, positiveIntVar, stringVar } from '../shared/config/load-config';
import type { Provider } from '../shared/worker/provider';
import { classifyWebhookError, WebhookHttpError } from './classify-webhook-error';
import { SANDBOX_WEBHOOK_SECRET, SANDBOX_WEBHOOK_URLS, signWebhook } from '../shared/webhook/signature';

/**
 * A receiver other than the sandbox needs a secret of its own: without NOTIF_WEBHOOK_SECRET, or with the sandbox's
 * public one, the worker refuses to start (a signature anyone can compute proves nothing to the receiver). Only
 * the sandbox's own URL may go without it; the worker then signs with the sandbox's secret.
 */
export const webhookConfigSchema = z
  .object({
    NOTIF_WEBHOOK_URL: stringVar(SANDBOX_WEBHOOK_URLS[0] as string),
    NOTIF_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional().or(z.literal('').transform(() => undefined)),
    NOTIF_TIMEOUT_MS: positiveIntVar(10_000),
  })
  .superRefine((config, context) => {
    if (SANDBOX_WEBHOOK_URLS.includes(config.NOTIF_WEBHOOK_URL)) return;
    if (config.NOTIF_WEBHOOK_SECRET === undefined) {
      context.addIssue({ code: 'custom', path: ['NOTIF_WEBHOOK_SECRET'], message: 'required when NOTIF_WEBHOOK_URL is not the sandbox (a random string of 16+ characters shared with the receiver)' });
    } else if (config.NOTIF_WEBHOOK_SECRET === SANDBOX_WEBHOOK_SECRET) {
      context.addIssue({ code: 'custom', path: ['NOTIF_WEBHOOK_SECRET'], message: "is the sandbox's public development secret: set a random one for a real receiver" });
    }
  })
  .transform((config) => ({ ...config, NOTIF_WEBHOOK_SECRET: config.NOTIF_WEBHOOK_SECRET ?? SANDBOX_WEBHOOK_SECRET }));

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
          'x-relay-message-id': envelope.id,
          'x-relay-timestamp': String(timestamp),
          'x-relay-signature': signWebhook(config.NOTIF_WEBHOOK_SECRET, timestamp, body),
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
