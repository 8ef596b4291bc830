import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { amqpUrlVar, logLevelVar, portVar, positiveIntVar, stringVar } from '../shared/config/load-config';

export const appConfigSchema = z
  .object({
    PORT: portVar(8080),
    HOST: stringVar('0.0.0.0'),
    AMQP_URL: amqpUrlVar('amqp://relay-app:relay-app@127.0.0.1:5673/relay'),
    /** Messages awaiting broker confirms per process before the API answers 503 instead of buffering more. */
    PUBLISH_MAX_IN_FLIGHT: positiveIntVar(10_000),
    /** Group commit: most envelopes of one type that share one AMQP message and confirm; 1 turns it off. */
    GROUP_COMMIT_MAX: positiveIntVar(100),
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
    LOG_LEVEL: logLevelVar,
  })
  .transform((config) => ({
    ...config,
    METRICS_SOCKET_DIR: config.METRICS_SOCKET_DIR || path.join(os.tmpdir(), `relay-app-metrics-${config.PORT}`),
  }));

export type AppConfig = z.infer<typeof appConfigSchema>;
