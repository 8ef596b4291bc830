import { configuredProviders } from '../shared/failover/providers-config';
import { runWorker } from '../shared/worker/run-worker';
import { createWebhookProvider, WEBHOOK_PROVIDER_VARS } from './webhook-provider';

void runWorker({
  type: 'notif',
  metricsPort: 9103,
  createProviders: (env) => configuredProviders(env, { listVar: 'NOTIF_PROVIDERS', kind: 'webhook', keys: WEBHOOK_PROVIDER_VARS, identityVar: 'NOTIF_WEBHOOK_URL', create: createWebhookProvider }),
});
