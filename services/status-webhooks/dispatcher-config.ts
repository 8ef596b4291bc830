import path from 'node:path';
import { z } from 'zod';
import { brokerVars } from '../shared/config/broker-access';
import { logLevelVar, portVar, positiveIntVar, stringVar } from '../shared/config/load-config';
import { STATUS_WEBHOOK_TIERS, type StatusWebhookTier } from './topology';

const tiersVar = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, context) => {
      const tiers = (value === '' ? fallback : value).split(',').map((tier) => tier.trim()).filter((tier) => tier !== '');
      for (const tier of tiers) {
        if (!(tier in STATUS_WEBHOOK_TIERS)) context.addIssue({ code: 'custom', message: `"${tier}" is not one of ${Object.keys(STATUS_WEBHOOK_TIERS).join(', ')}` });
      }
      return tiers as StatusWebhookTier[];
    });

/** What the dispatcher needs, whichever process runs it (its own main, or the status service). */
export const dispatcherConfigSchema = z
  .object({
    /** The API key file: each key's status webhook (URL and secret), reloaded on change like the app does. */
    API_KEYS_FILE: stringVar('.run/api-keys.json'),
    /** Longest wait for a receiver's answer. */
    STATUS_WEBHOOK_TIMEOUT_MS: positiveIntVar(5000),
    /** Webhooks in flight at once (the consumer's prefetch). */
    STATUS_WEBHOOK_CONCURRENCY: positiveIntVar(20),
    /** Delay before each retry of a transient failure; one more attempt than delays, then the dead-letter queue. */
    STATUS_WEBHOOK_RETRY_DELAYS: tiersVar('10s,1m,10m,1h,1h'),
  })
  .transform((config) => ({ ...config, API_KEYS_FILE: path.resolve(config.API_KEYS_FILE) }));
export type DispatcherConfig = z.infer<typeof dispatcherConfigSchema>;

/** The dispatcher's own process (services/status-webhooks/main.ts). */
export const dispatcherMainConfigSchema = z.object({
  ...brokerVars('relay-status-webhooks'),
  /** /metrics, /healthz, /readyz. */
  METRICS_PORT: portVar(9105),
  SHUTDOWN_TIMEOUT_MS: positiveIntVar(10_000),
  LOG_LEVEL: logLevelVar,
});
