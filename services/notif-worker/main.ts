import { configuredProviders } from '../shared/failover/providers-config';
import { runWorker } from '../shared/worker/run-worker';
import { webhookProviderList } from './webhook-provider';

void runWorker({
  type: 'notif',
  metricsPort: 9103,
  createProviders: (env) => configuredProviders(env, webhookProviderList),
});
