import { z } from 'zod';
import { decodeSecret, SANDBOX_WEBHOOK_SECRET } from './signature';

/**
 * The development secret shared by the notif-worker and the sandbox (docker-compose.yml and .env.example repeat
 * it). Anything real needs its own: `node -e "console.log('whsec_' + crypto.randomBytes(32).toString('base64'))"`.
 */
export const DEV_WEBHOOK_SECRET = SANDBOX_WEBHOOK_SECRET;

/** One secret, or several separated by spaces or commas while one is rotated (`whsec_new whsec_old`). */
export function parseSecretList(value: string): string[] {
  return value.split(/[\s,]+/).filter((secret) => secret !== '');
}

/**
 * NOTIF_WEBHOOK_SECRET as a config schema: a list of valid `whsec_` secrets, the default when unset or empty.
 * A bad one fails at boot with its position, never its value (it is a secret).
 */
export const webhookSecretsVar = (fallback: string = DEV_WEBHOOK_SECRET) =>
  z
    .string()
    .default(fallback)
    .transform((value, context) => {
      const secrets = parseSecretList(value === '' ? fallback : value);
      if (secrets.length === 0) context.addIssue({ code: 'custom', message: 'needs at least one whsec_ secret' });
      secrets.forEach((secret, index) => {
        try {
          decodeSecret(secret);
        } catch (error) {
          context.addIssue({ code: 'custom', message: `secret ${index + 1} of ${secrets.length} ${(error as Error).message}` });
        }
      });
      return secrets;
    });
