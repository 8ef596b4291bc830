import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { decodeSecret, SANDBOX_WEBHOOK_SECRET, SANDBOX_STATUS_WEBHOOK_URLS } from '../../shared/webhook/signature';

/** The channels a key may be allowed, named as in the envelope (`notif` is POST /v1/notifications). */
export const CHANNELS = ['sms', 'email', 'notif'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What `make api-key` gives a key unless told otherwise (docs/contract.md: "production defaults"). */
export const KEY_DEFAULTS = { rate: 10, burst: 20, recipientLimit: true } as const;

/**
 * Where status changes of a key's messages are POSTed, and the `whsec_` secret they are signed with. The secret is
 * stored as it is, unlike the key: we sign with it, so we need it back (docs/security.md).
 */
export const statusWebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  secret: z.string().superRefine((value, context) => {
    try {
      decodeSecret(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: `status webhook secret ${(error as Error).message}` });
    }
  }),
});
export type StatusWebhook = z.infer<typeof statusWebhookSchema>;

/**
 * One API key as stored: never the key itself, only the SHA-256 of it. A key is 32 random bytes (256 bits), so
 * unlike a password it cannot be guessed or brute-forced from its hash; a slow KDF (bcrypt, scrypt) would add
 * nothing but CPU on every request. A plain hash also lets each request find its key with one Map lookup.
 */
export const apiKeyRecordSchema = z.strictObject({
  name: z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, . _ - (at most 64)'),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>'),
  channels: z.array(z.enum(CHANNELS)).min(1),
  /** Messages per second a key may send on average. */
  rate: z.number().positive().max(1_000_000),
  /** Messages a key may send at once (the limiter's window holds `burst` messages for `burst / rate` seconds). */
  burst: z.number().int().positive().max(10_000_000),
  /** Whether SMS recipients of this key count against the per-recipient limit (off for the development key). */
  recipientLimit: z.boolean().default(true),
  /** Optional: status changes of this key's messages are sent there (services/status-webhooks). */
  statusWebhook: statusWebhookSchema.optional(),
  createdAt: z.string().optional(),
});

export const apiKeyFileSchema = z.strictObject({ keys: z.array(apiKeyRecordSchema) }).superRefine((file, context) => {
  const names = new Set<string>();
  for (const key of file.keys) {
    if (names.has(key.name)) context.addIssue({ code: 'custom', message: `duplicate key name "${key.name}"` });
    names.add(key.name);
  }
});

export type ApiKey = z.infer<typeof apiKeyRecordSchema>;
export type ApiKeyFile = z.infer<typeof apiKeyFileSchema>;

const KEY_PREFIX = 'rk_';

/** A new key: `rk_` and 43 base64url characters of 32 random bytes. */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** Reads and validates a key file; a missing file is an empty one (every request then gets 401). */
export function readKeyFile(file: string): ApiKeyFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [] };
    throw error;
  }
  const parsed = apiKeyFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new Error(`API key file ${file} is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Writes the file atomically (a temporary file renamed over it), so a reader never sees half a file. A new file is
 * readable by its owner only; an existing file keeps its mode (scripts/compose-secrets.sh makes the compose one
 * readable by the container's user: it holds hashes only).
 */
export function writeKeyFile(file: string, contents: ApiKeyFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const mode = fs.existsSync(file) ? fs.statSync(file).mode & 0o777 : 0o600;
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(contents, null, 2)}\n`, { mode });
  fs.chmodSync(temporary, mode);
  fs.renameSync(temporary, file);
}

export interface NewKey {
  name: string;
  channels: readonly Channel[];
  rate?: number;
  burst?: number;
  recipientLimit?: boolean;
  /** Where to POST status changes; a new `whsec_` secret is generated for it. */
  statusWebhookUrl?: string;
}

/** A new Standard Webhooks secret: `whsec_` and base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The secret for a status webhook URL: a new random one, except for the sandbox's own receiver, which only knows
 * its public development secret (the same rule as the notif-worker's).
 */
function statusWebhookSecret(url: string): string {
  return SANDBOX_STATUS_WEBHOOK_URLS.includes(url) ? SANDBOX_WEBHOOK_SECRET : generateWebhookSecret();
}

/** Creates a key, stores its hash in `file` (replacing a key of the same name) and returns the key itself. */
export function addKey(file: string, spec: NewKey): { key: string; record: ApiKey } {
  const key = generateKey();
  const rate = spec.rate ?? KEY_DEFAULTS.rate;
  const record = apiKeyRecordSchema.parse({
    name: spec.name,
    hash: hashKey(key),
    channels: [...new Set(spec.channels)],
    rate,
    burst: spec.burst ?? Math.max(Math.ceil(rate * 2), 1),
    recipientLimit: spec.recipientLimit ?? KEY_DEFAULTS.recipientLimit,
    ...(spec.statusWebhookUrl ? { statusWebhook: { url: spec.statusWebhookUrl, secret: statusWebhookSecret(spec.statusWebhookUrl) } } : {}),
    createdAt: new Date().toISOString(),
  });
  const current = readKeyFile(file);
  writeKeyFile(file, { keys: [...current.keys.filter((existing) => existing.name !== spec.name), record] });
  return { key, record };
}

/** Removes a key by name; true when one was there. */
export function revokeKey(file: string, name: string): boolean {
  const current = readKeyFile(file);
  const keys = current.keys.filter((existing) => existing.name !== name);
  if (keys.length === current.keys.length) return false;
  writeKeyFile(file, { keys });
  return true;
}
