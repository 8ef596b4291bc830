import { z } from 'zod';
import { providerRequest } from '../shared/http/provider-http';
import { loadConfig, positiveIntVar, stringVar } from '../shared/config/load-config';
import type { ProviderListSpec } from '../shared/failover/providers-config';
import type { Provider } from '../shared/worker/provider';
import { classifyWebhookError, WebhookHttpError } from './classify-webhook-error';
import { parseSecretList, webhookSecretsVar } from '../shared/webhook/secrets';
import { SANDBOX_WEBHOOK_SECRET, SANDBOX_WEBHOOK_URLS, signWebhook, WEBHOOK_HEADERS } from '../shared/webhook/signature';

/**
 * NOTIF_WEBHOOK_SECRET: one `whsec_` secret, or several (space- or comma-separated) while rotating: each request is
 * signed with all. A receiver other than the sandbox needs secrets of its own: without NOTIF_WEBHOOK_SECRET, or with
 * the sandbox's public one among them, the worker refuses to start (a signature anyone can compute proves nothing to
 * the receiver). Only the sandbox's own URL may go without it; the worker then signs with the sandbox's secret.
 */
export const webhookConfigSchema = z
  .object({
    NOTIF_WEBHOOK_URL: stringVar(SANDBOX_WEBHOOK_URLS[0] as string),
    NOTIF_WEBHOOK_SECRET: z.string().optional(),
    NOTIF_TIMEOUT_MS: positiveIntVar(10_000),
  })
  .superRefine((config, context) => {
    const listed = parseSecretList(config.NOTIF_WEBHOOK_SECRET ?? '');
    if (SANDBOX_WEBHOOK_URLS.includes(config.NOTIF_WEBHOOK_URL)) return;
    if (listed.length === 0) {
      context.addIssue({ code: 'custom', path: ['NOTIF_WEBHOOK_SECRET'], message: 'required when NOTIF_WEBHOOK_URL is not the sandbox (a whsec_ secret shared with the receiver, docs/webhooks.md)' });
    } else if (listed.includes(SANDBOX_WEBHOOK_SECRET)) {
      context.addIssue({ code: 'custom', path: ['NOTIF_WEBHOOK_SECRET'], message: "holds the sandbox's public development secret: set a random one for a real receiver" });
    }
  })
  .transform((config, context) => {
    const secrets = webhookSecretsVar(SANDBOX_WEBHOOK_SECRET).safeParse(config.NOTIF_WEBHOOK_SECRET);
    if (!secrets.success) {
      for (const issue of secrets.error.issues) context.addIssue({ code: 'custom', path: ['NOTIF_WEBHOOK_SECRET'], message: issue.message });
      return z.NEVER;
    }
    return { ...config, NOTIF_WEBHOOK_SECRET: secrets.data };
  });

/** The variables each webhook provider reads (NOTIF_BACKUP_WEBHOOK_URL for provider `backup`, docs/failover.md). */
export const WEBHOOK_PROVIDER_VARS = ['NOTIF_WEBHOOK_URL', 'NOTIF_WEBHOOK_SECRET', 'NOTIF_TIMEOUT_MS'] as const;

export function createWebhookProvider(env: NodeJS.ProcessEnv): Provider<'notif'> {
  const config = loadConfig(webhookConfigSchema, env);
  return {
    type: 'notif',
    acceptanceIsDelivery: true,
    async send(envelope, context) {
      const body = JSON.stringify({ id: envelope.id, acceptedAt: envelope.acceptedAt, attempt: context.attempt, ...envelope.payload });
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await providerRequest(config.NOTIF_WEBHOOK_URL, {
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
        timeoutMs: config.NOTIF_TIMEOUT_MS,
      });
      if (response.status < 200 || response.status >= 300) throw new WebhookHttpError(response.status);
      return { provider: 'webhook' };
    },
    classify: classifyWebhookError,
    async close() {},
  };
}

/** NOTIF_PROVIDERS: the webhook receivers in failover order (providers-config.ts, docs/failover.md). */
export const webhookProviderList: ProviderListSpec<'notif'> = {
  listVar: 'NOTIF_PROVIDERS',
  kind: 'webhook',
  keys: WEBHOOK_PROVIDER_VARS,
  identityVar: 'NOTIF_WEBHOOK_URL',
  create: createWebhookProvider,
  // The same test as the secret rule above: the sandbox's own sink URLs.
  isSandbox: (env) => SANDBOX_WEBHOOK_URLS.includes(env.NOTIF_WEBHOOK_URL || (SANDBOX_WEBHOOK_URLS[0] as string)),
};
