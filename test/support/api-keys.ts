import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addKey, type NewKey } from '../../services/app/auth/api-keys';

/**
 * The API keys of the stack a test file starts: one key file per test process (jest runs files one at a time), in
 * a temp folder, with the `test` key (every channel, limits far above what a test sends, no per-recipient limit,
 * like `make dev`'s key). startPm2 points the app at it with API_KEYS_FILE; postJson sends the key.
 */
let state: { dir: string; file: string; key: string } | undefined;

function ensure(): { dir: string; file: string; key: string } {
  if (!state) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-keys-'));
    const file = path.join(dir, 'api-keys.json');
    const { key } = addKey(file, { name: 'test', channels: ['sms', 'email', 'notif'], rate: 1_000_000, burst: 2_000_000, recipientLimit: false });
    state = { dir, file, key };
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return state;
}

export function testApiKey(): string {
  return ensure().key;
}

export function testKeysFile(): string {
  return ensure().file;
}

/** Adds another key to the running stack's key file (the app sees it within a second) and returns it. */
export function addTestKey(spec: NewKey): string {
  return addKey(ensure().file, spec).key;
}

/** The env every app under test gets: the key file, and the sandbox's magic numbers allowed as SMS recipients. */
export function securityEnv(): NodeJS.ProcessEnv {
  return { API_KEYS_FILE: testKeysFile(), SMS_ALLOW_NUMBER_PREFIXES: '+1500555' };
}
