import nodemailer from 'nodemailer';
import { z } from 'zod';
import { loadConfig, positiveIntVar, stringVar } from '../shared/config/load-config';
import type { ProviderListSpec } from '../shared/failover/providers-config';
import { pointsAtSandbox, SANDBOX_SMTP_PORT } from '../shared/failover/sandbox-address';
import type { Provider } from '../shared/worker/provider';
import { classifySmtpError, PartialRejectionError } from './classify-smtp-error';

export const smtpConfigSchema = z.object({
  /** smtp://host:port (plain), smtps://user:pass@host:465 (TLS). */
  SMTP_URL: stringVar('smtp://127.0.0.1:2525'),
  EMAIL_FROM: stringVar('relay-stack <no-reply@relay-stack.test>'),
  /**
   * Pooled connections kept open to the SMTP server. Each carries one message at a time through several round
   * trips, so the pool, not the CPU, bounds an email worker: 5 fell behind 133 e-mails/s on a busy 2-core box, and
   * at saturation 16 left a 10.9 s backlog where 32 left 5.6 s (docs/performance.md). Lower it for a relay that
   * limits connections per client.
   */
  SMTP_POOL_SIZE: positiveIntVar(32),
  SMTP_TIMEOUT_MS: positiveIntVar(10_000),
});

export function createSmtpProvider(env: NodeJS.ProcessEnv): Provider<'email'> {
  const config = loadConfig(smtpConfigSchema, env);
  const url = new URL(config.SMTP_URL);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    connectionTimeout: config.SMTP_TIMEOUT_MS,
    greetingTimeout: config.SMTP_TIMEOUT_MS,
    socketTimeout: config.SMTP_TIMEOUT_MS,
  });
  return {
    type: 'email',
    async send(envelope) {
      const info = await transport.sendMail({
        from: config.EMAIL_FROM,
        to: envelope.payload.to,
        subject: envelope.payload.subject,
        text: envelope.payload.text,
        html: envelope.payload.html,
        messageId: `<${envelope.id}@relay-stack>`,
        headers: { 'X-Relay-Message-Id': envelope.id },
      });
      if (info.rejected.length > 0) throw new PartialRejectionError(info.rejected.length, info.accepted.length);
      // The server's answer to DATA ("250 2.0.0 Ok: queued as 4BQ…") is the only id of its own an SMTP relay gives.
      return { provider: 'smtp', providerMessageId: info.response };
    },
    classify: classifySmtpError,
    async close() {
      transport.close();
    },
  };
}

/** EMAIL_PROVIDERS: the SMTP relays in failover order (providers-config.ts, docs/failover.md). */
export const smtpProviderList: ProviderListSpec<'email'> = {
  listVar: 'EMAIL_PROVIDERS',
  kind: 'smtp',
  keys: Object.keys(smtpConfigSchema.shape),
  identityVar: 'SMTP_URL',
  create: createSmtpProvider,
  isSandbox: (env) => pointsAtSandbox(smtpConfigSchema.shape.SMTP_URL.parse(env.SMTP_URL), SANDBOX_SMTP_PORT),
};
