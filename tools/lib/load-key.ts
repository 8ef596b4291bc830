import path from 'node:path';
import { addKey, CHANNELS } from '../../services/app/auth/api-keys';

/**
 * The API key of a load run (bench, chaos), like `make dev`'s: every channel, limits far above what one machine
 * can send, no per-recipient limit. Its hash goes to `<dir>/api-keys.json`; `env` points the app at it and lets
 * the sandbox's magic numbers (+1500555xxxx) through the SMS destination checks.
 */
export function createLoadKey(dir: string): { key: string; env: Record<string, string> } {
  const file = path.join(dir, 'api-keys.json');
  const { key } = addKey(file, { name: 'load', channels: [...CHANNELS], rate: 1_000_000, burst: 2_000_000, recipientLimit: false });
  return { key, env: { API_KEYS_FILE: file, SMS_ALLOW_NUMBER_PREFIXES: '+1500555' } };
}
