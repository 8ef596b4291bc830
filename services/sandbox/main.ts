import { z } from 'zod';
import { loadConfig, logLevelVar, portVar, stringVar } from '../shared/config/load-config';
import { createLogger } from '../shared/logger/logger';
import { installProcessHandlers } from '../shared/process/process-handlers';
import { webhookSecretsVar } from '../shared/webhook/secrets';
import { FaultInjector } from './faults';
import { MessageStore } from './message-store';
import { createSandboxApp, SANDBOX_TWILIO_BACKUP } from './sandbox-app';
import { createSmtpSink } from './smtp-sink';
import { StatusCallbackSender } from './status-callbacks';

const configSchema = z.object({
  SANDBOX_HTTP_PORT: portVar(8025),
  SANDBOX_SMTP_PORT: portVar(2525),
  SANDBOX_HOST: stringVar('0.0.0.0'),
  TWILIO_ACCOUNT_SID: stringVar('ACsandbox0000000000000000000000000'),
  TWILIO_AUTH_TOKEN: stringVar('sandbox-token'),
  /** The second account the sandbox plays (personality `twilio-backup`), the one sms-worker's provider `backup` uses. */
  TWILIO_BACKUP_ACCOUNT_SID: stringVar(SANDBOX_TWILIO_BACKUP.accountSid),
  TWILIO_BACKUP_AUTH_TOKEN: stringVar(SANDBOX_TWILIO_BACKUP.authToken),
  NOTIF_WEBHOOK_SECRET: webhookSecretsVar(),
  /** Waits before each retry of a status callback the receiver did not answer 2xx (ms, comma-separated). */
  SANDBOX_CALLBACK_RETRY_MS: z.string().default('1000,2000,4000,8000').transform((value) => value.split(',').map(Number).filter((ms) => Number.isFinite(ms) && ms >= 0)),
  LOG_LEVEL: logLevelVar,
});

/** Dev and test stand-in for Twilio, an SMTP server and a webhook receiver. Not part of a production deploy. */
function main(): void {
  const logger = createLogger('sandbox');
  installProcessHandlers(logger);
  const config = loadConfig(configSchema);
  const store = new MessageStore();
  const faults = new FaultInjector();
  const callbacks = new StatusCallbackSender({ accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN, retryDelaysMs: config.SANDBOX_CALLBACK_RETRY_MS });
  const app = createSandboxApp({
    store, faults, callbacks, twilioAccountSid: config.TWILIO_ACCOUNT_SID, twilioAuthToken: config.TWILIO_AUTH_TOKEN,
    twilioBackup: { accountSid: config.TWILIO_BACKUP_ACCOUNT_SID, authToken: config.TWILIO_BACKUP_AUTH_TOKEN },
    webhookSecrets: config.NOTIF_WEBHOOK_SECRET,
  });
  const http = app.listen(config.SANDBOX_HTTP_PORT, config.SANDBOX_HOST);
  const smtp = createSmtpSink(store, faults);
  smtp.on('error', (error) => logger.warn({ err: error }, 'smtp error'));
  smtp.listen(config.SANDBOX_SMTP_PORT, config.SANDBOX_HOST, () => {
    logger.info({ httpPort: config.SANDBOX_HTTP_PORT, smtpPort: config.SANDBOX_SMTP_PORT }, 'sandbox listening');
    process.send?.('ready');
  });
  const stop = () => {
    callbacks.stop();
    http.close();
    http.closeAllConnections(); // open inbox pages hold event streams
    smtp.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
