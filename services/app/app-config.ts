import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { databasePasswordFileVar } from '../shared/db/database-url';
import { brokerVars } from '../shared/config/broker-access';
import { booleanVar, logLevelVar, portVar, positiveIntVar, stringVar } from '../shared/config/load-config';
import { defaultLimitsSocket, limitsSocketVar } from './limits/limits-config';

/** A comma-separated env list, trimmed, empty items dropped. */
const listVar = (fallback: string) =>
  z.string().default(fallback).transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item !== ''));

export const appConfigSchema = z
  .object({
    PORT: portVar(8080),
    HOST: stringVar('0.0.0.0'),
    /** The ops listener: /metrics, /healthz, /readyz, off the public API port (docs/contract.md). */
    OPS_PORT: portVar(9100),
    OPS_HOST: stringVar('0.0.0.0'),
    /** The API keys (hashes only), reloaded on change and on SIGHUP; relative paths from the working directory. */
    API_KEYS_FILE: stringVar('.run/api-keys.json'),
    /**
     * Where rate-limit counters live: `pm2` one count per PM2 cluster in app-limits (its unix socket, LIMITS_SOCKET;
     * the name is kept from when it went through PM2's bus), `memory` per process, `auto` pm2 under PM2.
     */
    RATE_LIMIT_STORE: z.enum(['auto', 'pm2', 'memory']).default('auto'),
    /** app-limits' unix socket (store `pm2`); default `<tmpdir>/relay-app-limits-<PORT>.sock`, as app-limits reads it. */
    LIMITS_SOCKET: limitsSocketVar,
    /** SMS per recipient per window across the keys that count recipients; 0 turns the limit off. */
    SMS_RECIPIENT_MAX: z.coerce.number().int().min(0).default(10),
    SMS_RECIPIENT_WINDOW_SECONDS: positiveIntVar(3600),
    /** Regions SMS may go to (ISO 3166 alpha-2), checked on the parsed number. */
    SMS_ALLOWED_COUNTRIES: listVar('US,CA,GB,IE,FR,DE,NL,ES,IT,AU'),
    /** libphonenumber-js types accepted where the numbering plan tells the type. */
    SMS_ALLOWED_NUMBER_TYPES: listVar('MOBILE,FIXED_LINE_OR_MOBILE'),
    /** E.164 prefixes accepted whatever their region or type: the sandbox's magic numbers in dev and tests (+1500555). */
    SMS_ALLOW_NUMBER_PREFIXES: listVar(''),
    ...brokerVars('relay-app'),
    /** Messages awaiting broker confirms per process before the API answers 503 instead of buffering more. */
    PUBLISH_MAX_IN_FLIGHT: positiveIntVar(10_000),
    /** Group commit: most envelopes of one type that share one AMQP message and confirm; 1 turns it off. */
    GROUP_COMMIT_MAX: positiveIntVar(100),
    /** Group commit: largest AMQP message body in bytes (well below the broker's max_message_size: 16 MiB on 4.x). */
    GROUP_COMMIT_MAX_BYTES: positiveIntVar(4 * 1024 * 1024),
    /** Bytes of accepted envelopes awaiting confirms per process before the API answers 503 (with PUBLISH_MAX_IN_FLIGHT). */
    PUBLISH_MAX_PENDING_BYTES: positiveIntVar(64 * 1024 * 1024),
    /** Group commit: how long the first request of a batch waits for others (0: the same event-loop turn only). */
    GROUP_COMMIT_WINDOW_MS: z.coerce.number().int().min(0).max(50).default(0),
    /** How long a request waits for the broker's confirm before it gets a 503. */
    PUBLISH_TIMEOUT_MS: positiveIntVar(5000),
    /** Largest JSON body accepted (bytes or a unit string like 100kb); larger gets 413. */
    BODY_LIMIT: stringVar('100kb'),
    /** Retry-After sent with 503. */
    RETRY_AFTER_SECONDS: positiveIntVar(2),
    /** Where PM2 cluster instances expose their metrics to each other (one unix socket each). */
    METRICS_SOCKET_DIR: z.string().optional(),
    SHUTDOWN_TIMEOUT_MS: positiveIntVar(10_000),
    /** Drain: how long an idle kept-alive connection may still bring one last request before it is closed. */
    DRAIN_IDLE_GRACE_MS: positiveIntVar(2000),
    /** Boot: longest wait for the broker (confirm channel open) before listening anyway (below PM2's listen_timeout). */
    READY_TIMEOUT_MS: positiveIntVar(10_000),
    /** Report `queued` to relay.status after each confirm (docs/status.md); `false` turns status tracking off. */
    STATUS_TRACKING: booleanVar(true),
    /** The status database GET /v1/messages reads (read-only use; the status service writes it). */
    DATABASE_URL: stringVar('postgres://relay@127.0.0.1:5433/relay'),
    DATABASE_PASSWORD_FILE: databasePasswordFileVar,
    /** Connections per app instance to the status database: reads are short, a few suffice. */
    DATABASE_POOL_MAX: positiveIntVar(4),
    /** Longest a status read may take (connect + query) before the API answers 503 status_unavailable. */
    STATUS_QUERY_TIMEOUT_MS: positiveIntVar(2000),
    /** The app's base URL as the outside (Twilio) calls it: provider callbacks are signed over the full public URL. */
    PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    /** The Twilio auth token status callbacks are signed with (the sms worker's); the sandbox's in dev and tests. */
    TWILIO_AUTH_TOKEN: stringVar('sandbox-token'),
    /**
     * The auth tokens of further Twilio accounts the sms worker may fail over to (SMS_PROVIDERS), comma-separated:
     * each account signs the callbacks of its own messages.
     */
    TWILIO_CALLBACK_AUTH_TOKENS: z.string().default('').transform((value) => value.split(',').map((token) => token.trim()).filter(Boolean)),
    LOG_LEVEL: logLevelVar,
  })
  .transform((config) => ({
    ...config,
    API_KEYS_FILE: path.resolve(config.API_KEYS_FILE),
    RATE_LIMIT_STORE: config.RATE_LIMIT_STORE === 'auto' ? (process.env.pm_id === undefined ? 'memory' : 'pm2') : config.RATE_LIMIT_STORE,
    METRICS_SOCKET_DIR: config.METRICS_SOCKET_DIR || path.join(os.tmpdir(), `relay-app-metrics-${config.PORT}`),
    LIMITS_SOCKET: config.LIMITS_SOCKET || defaultLimitsSocket(config.PORT),
  }));

export type AppConfig = z.infer<typeof appConfigSchema>;
