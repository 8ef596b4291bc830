import { ConfigError } from '../../services/shared/config/load-config';
import { configuredProviders, providerVar } from '../../services/shared/failover/providers-config';
import { createSmtpProvider, smtpConfigSchema } from '../../services/email-worker/smtp-provider';
import { createWebhookProvider, WEBHOOK_PROVIDER_VARS } from '../../services/notif-worker/webhook-provider';
import { createTwilioProvider, twilioConfigSchema } from '../../services/sms-worker/twilio-provider';

const sms = (env: NodeJS.ProcessEnv) =>
  configuredProviders(env, { listVar: 'SMS_PROVIDERS', kind: 'twilio', keys: Object.keys(twilioConfigSchema.shape), identityVar: 'TWILIO_ACCOUNT_SID', create: createTwilioProvider });
const email = (env: NodeJS.ProcessEnv) => configuredProviders(env, { listVar: 'EMAIL_PROVIDERS', kind: 'smtp', keys: Object.keys(smtpConfigSchema.shape), identityVar: 'SMTP_URL', create: createSmtpProvider });
const notif = (env: NodeJS.ProcessEnv) => configuredProviders(env, { listVar: 'NOTIF_PROVIDERS', kind: 'webhook', keys: WEBHOOK_PROVIDER_VARS, identityVar: 'NOTIF_WEBHOOK_URL', create: createWebhookProvider });

describe('providers per channel, from env', () => {
  test("without a list, one provider from today's variables, named after its kind", async () => {
    const providers = sms({});
    expect(providers.map(({ name }) => name)).toEqual(['twilio']);
    await Promise.all(providers.map(({ provider }) => provider.close()));
  });

  test("a listed provider reads its variables with its name after the first word, else the unprefixed ones", async () => {
    expect(providerVar('TWILIO_ACCOUNT_SID', 'backup')).toBe('TWILIO_BACKUP_ACCOUNT_SID');
    expect(providerVar('SMTP_URL', 'relay2')).toBe('SMTP_RELAY2_URL');
    expect(providerVar('NOTIF_WEBHOOK_URL', 'backup')).toBe('NOTIF_BACKUP_WEBHOOK_URL');
    const providers = [
      ...sms({ SMS_PROVIDERS: 'primary, backup', TWILIO_BACKUP_ACCOUNT_SID: 'ACbackup' }),
      ...email({ EMAIL_PROVIDERS: 'primary,backup', SMTP_BACKUP_URL: 'smtp://smtp-backup:x@127.0.0.1:2525' }),
      ...notif({ NOTIF_PROVIDERS: 'primary,backup', NOTIF_BACKUP_WEBHOOK_URL: 'http://127.0.0.1:8025/webhooks/notifications-backup' }),
    ];
    expect(providers.map(({ name }) => name)).toEqual(['twilio-primary', 'twilio-backup', 'smtp-primary', 'smtp-backup', 'webhook-primary', 'webhook-backup']);
    await Promise.all(providers.map(({ provider }) => provider.close()));
  });

  test('a provider after the first must name its own account or server, so a typo cannot reuse the primary', () => {
    expect(() => sms({ SMS_PROVIDERS: 'primary,backup', TWILIO_BAKUP_ACCOUNT_SID: 'ACbackup' })).toThrow(ConfigError);
    expect(() => sms({ SMS_PROVIDERS: 'primary,backup' })).toThrow(/TWILIO_BACKUP_ACCOUNT_SID: required for provider "backup" listed in SMS_PROVIDERS/);
    expect(() => email({ EMAIL_PROVIDERS: 'a,b' })).toThrow(/SMTP_B_URL: required/);
  });

  test('bad lists and bad provider settings are refused at start, naming the variable', () => {
    expect(() => sms({ SMS_PROVIDERS: 'primary,primary' })).toThrow(/SMS_PROVIDERS: provider names must be unique/);
    expect(() => sms({ SMS_PROVIDERS: 'Primary' })).toThrow(/SMS_PROVIDERS: provider names are lower-case letters/);
    expect(() => sms({ SMS_PROVIDERS: 'a,b,c,d,e,f', TWILIO_B_ACCOUNT_SID: 'x' })).toThrow(/SMS_PROVIDERS/);
    expect(() => sms({ SMS_PROVIDERS: 'primary,backup', TWILIO_BACKUP_ACCOUNT_SID: 'ACb', TWILIO_BACKUP_TIMEOUT_MS: 'soon' })).toThrow(
      /provider "twilio-backup" listed in SMS_PROVIDERS .*TWILIO_TIMEOUT_MS/,
    );
    // A second receiver that is not the sandbox needs secrets of its own, as the first does.
    expect(() => notif({ NOTIF_PROVIDERS: 'primary,backup', NOTIF_BACKUP_WEBHOOK_URL: 'https://hooks.example.com/relay' })).toThrow(/webhook-backup.*NOTIF_WEBHOOK_SECRET: required/);
  });
});
