import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseBrokerUrls } from '../messaging/broker-urls';

/** Raised at boot when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

/**
 * Validates `env` against a schema whose keys are env var names, so a bad value fails at start with a message
 * naming the variable instead of failing later at the first request.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** An env var holding a TCP port. */
export const portVar = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** An env var holding a positive integer. */
export const positiveIntVar = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** An env var holding a non-empty string, with a default. */
export const stringVar = (fallback: string) =>
  z.string().default(fallback).transform((value) => (value === '' ? fallback : value));

/** AMQP_URL: one broker URL or a comma-separated list of cluster nodes (messaging/broker-urls.ts), checked at boot. */
export const amqpUrlVar = (fallback: string) =>
  stringVar(fallback).superRefine((value, context) => {
    try {
      parseBrokerUrls(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** An env var holding true/false (also 1/0, yes/no). */
export const booleanVar = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .default(fallback ? 'true' : 'false')
    .transform((value) => (value === '' ? fallback : ['true', '1', 'yes'].includes(value)));

/** The log level every service reads from LOG_LEVEL. */
export const logLevelVar = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/**
 * Reads a file an env var names (a mounted secret: a password, a CA, a key) at boot; a missing or unreadable file
 * fails the start with the variable's name rather than a login or TLS error later.
 */
export function readSecretFile(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
