import twilio from 'twilio';
import { z } from 'zod';
import { loadConfig, positiveIntVar, stringVar } from '../shared/config/load-config';
import type { ProviderListSpec } from '../shared/failover/providers-config';
import { pointsAtSandbox, SANDBOX_HTTP_PORT } from '../shared/failover/sandbox-address';
import type { Provider } from '../shared/worker/provider';
import { classifyTwilioError } from './classify-twilio-error';
import { currentMessageId, RedirectingHttpClient } from './sandbox-http-client';

export const twilioConfigSchema = z.object({
  TWILIO_ACCOUNT_SID: stringVar('ACsandbox0000000000000000000000000'),
  TWILIO_AUTH_TOKEN: stringVar('sandbox-token'),
  TWILIO_FROM: stringVar('+15005550006'),
  /** Base URL of a Twilio-compatible API (the sandbox). Empty: the SDK talks to Twilio itself. */
  TWILIO_API_URL: z.string().default('http://127.0.0.1:8025'),
  TWILIO_TIMEOUT_MS: positiveIntVar(10_000),
  /**
   * The app's status-callback route as Twilio reaches it (`<PUBLIC_BASE_URL>/v1/callbacks/twilio`). Set: every
   * message asks Twilio for status callbacks there, with our id in the query string. Empty: no callbacks.
   */
  TWILIO_STATUS_CALLBACK_URL: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]).default(''),
});

/** The callback URL for one message: our id travels in the query string, which Twilio's signature covers. */
export function statusCallbackUrl(base: string, messageId: string): string {
  const url = new URL(base);
  url.searchParams.set('relay_id', messageId);
  return url.toString();
}

export function createTwilioProvider(env: NodeJS.ProcessEnv): Provider<'sms'> {
  const config = loadConfig(twilioConfigSchema, env);
  const httpClient = config.TWILIO_API_URL ? new RedirectingHttpClient(config.TWILIO_API_URL, config.TWILIO_TIMEOUT_MS) : undefined;
  const client = twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, {
    // The SDK's own 429 retries would hold the message in memory; the broker's delay queues retry instead.
    autoRetry: false,
    timeout: config.TWILIO_TIMEOUT_MS,
    ...(httpClient ? { httpClient: httpClient as never } : {}),
  });
  return {
    type: 'sms',
    async send(envelope) {
      const message = await currentMessageId.run(envelope.id, () =>
        client.messages.create({
          to: envelope.payload.to,
          from: config.TWILIO_FROM,
          body: envelope.payload.body,
          ...(config.TWILIO_STATUS_CALLBACK_URL ? { statusCallback: statusCallbackUrl(config.TWILIO_STATUS_CALLBACK_URL, envelope.id) } : {}),
        }),
      );
      return { provider: 'twilio', providerMessageId: message.sid };
    },
    classify: classifyTwilioError,
    async close() {},
  };
}

/** SMS_PROVIDERS: the Twilio accounts in failover order (providers-config.ts, docs/failover.md). */
export const twilioProviderList: ProviderListSpec<'sms'> = {
  listVar: 'SMS_PROVIDERS',
  kind: 'twilio',
  keys: Object.keys(twilioConfigSchema.shape),
  identityVar: 'TWILIO_ACCOUNT_SID',
  create: createTwilioProvider,
  // The sandbox is reached through TWILIO_API_URL; empty means Twilio itself.
  isSandbox: (env) => pointsAtSandbox(twilioConfigSchema.shape.TWILIO_API_URL.parse(env.TWILIO_API_URL), SANDBOX_HTTP_PORT),
};
