import { ConfigError } from '../../services/shared/config/load-config';
import { configuredProviders, providerVar } from '../../services/shared/failover/providers-config';
import { smtpProviderList } from '../../services/email-worker/smtp-provider';
import { webhookProviderList } from '../../services/notif-worker/webhook-provider';
import { twilioProviderList } from '../../services/sms-worker/twilio-provider';

const sms = (env: NodeJS.ProcessEnv) => configuredProviders(env, twilioProviderList);
const email = (env: NodeJS.ProcessEnv) => configuredProviders(env, smtpProviderList);
const notif = (env: NodeJS.ProcessEnv) => configuredProviders(env, webhookProviderList);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

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
    expect(() =>
      notif({ NOTIF_PROVIDERS: 'primary,backup', NOTIF_WEBHOOK_URL: 'https://hooks.example.com/a', NOTIF_PRIMARY_WEBHOOK_SECRET: SECRET, NOTIF_BACKUP_WEBHOOK_URL: 'https://hooks.example.com/b' }),
    ).toThrow(/webhook-backup.*NOTIF_WEBHOOK_SECRET: required/);
  });

  test('a list that pairs a real provider with the sandbox is refused: failed-over messages would land in the sandbox', async () => {
    // The defaults pair the sandbox's two personalities; pointing only the first at a real server is the mistake.
    expect(() => email({ EMAIL_PROVIDERS: 'primary,backup', SMTP_URL: 'smtps://u:p@smtp.example.com:465', SMTP_BACKUP_URL: 'smtp://smtp-backup:sandbox@sandbox:2525' })).toThrow(
      /EMAIL_PROVIDERS: "smtp-backup" points at the sandbox and "smtp-primary" at a real provider/,
    );
    expect(() => sms({ SMS_PROVIDERS: 'primary,backup', TWILIO_PRIMARY_API_URL: '', TWILIO_BACKUP_ACCOUNT_SID: 'ACsandboxbackup0000000000000000000' })).toThrow(
      /SMS_PROVIDERS: "twilio-backup" points at the sandbox and "twilio-primary" at a real provider/,
    );
    expect(() =>
      notif({ NOTIF_PROVIDERS: 'primary,backup', NOTIF_WEBHOOK_URL: 'https://hooks.example.com/a', NOTIF_WEBHOOK_SECRET: SECRET, NOTIF_BACKUP_WEBHOOK_URL: 'http://sandbox:8025/webhooks/notifications-backup' }),
    ).toThrow(/NOTIF_PROVIDERS: "webhook-backup" points at the sandbox/);
    // Real on both sides, the sandbox on both sides (the defaults), or one provider: all accepted.
    const accepted = [
      ...email({ EMAIL_PROVIDERS: 'primary,backup', SMTP_URL: 'smtps://u:p@smtp.example.com:465', SMTP_BACKUP_URL: 'smtps://u:p@smtp2.example.com:465' }),
      ...email({ EMAIL_PROVIDERS: 'primary,backup', SMTP_URL: 'smtp://sandbox:2525', SMTP_BACKUP_URL: 'smtp://smtp-backup:sandbox@sandbox:2525' }),
      ...email({ EMAIL_PROVIDERS: '', SMTP_URL: 'smtps://u:p@smtp.example.com:465' }),
      ...sms({ SMS_PROVIDERS: 'primary,backup', TWILIO_API_URL: '', TWILIO_BACKUP_ACCOUNT_SID: 'ACbackup' }),
    ];
    expect(accepted.map(({ name }) => name)).toEqual(['smtp-primary', 'smtp-backup', 'smtp-primary', 'smtp-backup', 'smtp', 'twilio-primary', 'twilio-backup']);
    await Promise.all(accepted.map(({ provider }) => provider.close()));
  });
});
