import { z } from 'zod';
import { brokerVars } from '../config/broker-access';
import { booleanVar, logLevelVar, portVar, positiveIntVar, stringVar } from '../config/load-config';
import { RETRY_TIERS, type RetryTier } from '../messaging/topology';

const tierNames = Object.keys(RETRY_TIERS) as RetryTier[];

/** RETRY_DELAYS: comma-separated delay tiers, one per retry; attempts = tiers + 1. Each must exist as a queue. */
export const retryDelaysVar = z
  .string()
  .default('1s,5s,30s,2m')
  .transform((value, context) => {
    const tiers = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
    for (const tier of tiers) {
      if (!tierNames.includes(tier as RetryTier)) {
        context.addIssue({ code: 'custom', message: `unknown delay tier "${tier}"; available: ${tierNames.join(', ')}` });
        return z.NEVER;
      }
    }
    return tiers as RetryTier[];
  });

/** Settings every worker shares; each worker adds its provider's settings and defaults. */
export function workerConfigSchema(defaults: { amqpUser: string; metricsPort: number }) {
  return z.object({
    ...brokerVars(defaults.amqpUser),
    METRICS_PORT: portVar(defaults.metricsPort),
    /** Unacknowledged deliveries (AMQP basic.qos); a group-commit delivery holds up to 100 items. */
    PREFETCH: positiveIntVar(50),
    /** Items handed to the provider at once (connections to Twilio, SMTP pool users, webhook requests). */
    CONCURRENCY: positiveIntVar(50),
    RETRY_DELAYS: retryDelaysVar,
    /** Ids of recently delivered messages remembered per process to skip copies (0 turns it off). */
    RECENT_IDS: z.coerce.number().int().min(0).default(50_000),
    /** First pause of consumption after the provider refused our credentials; doubles up to the max. */
    CREDENTIALS_PAUSE_MIN_MS: positiveIntVar(5000),
    CREDENTIALS_PAUSE_MAX_MS: positiveIntVar(300_000),
    /** Consecutive transient failures or timeouts of one provider that open its circuit (docs/failover.md). */
    CIRCUIT_FAILURE_THRESHOLD: positiveIntVar(5),
    /** How long an open circuit sends traffic to the next provider before one probe tries it again. */
    CIRCUIT_OPEN_MS: positiveIntVar(10_000),
    /** How long a drain may take on SIGTERM; must stay below PM2's kill_timeout (15 s). */
    SHUTDOWN_TIMEOUT_MS: positiveIntVar(10_000),
    /** Report delivery status events to relay.status (docs/status.md); `false` turns status tracking off. */
    STATUS_TRACKING: booleanVar(true),
    LOG_LEVEL: logLevelVar,
  });
}

export type WorkerConfig = z.infer<ReturnType<typeof workerConfigSchema>>;
