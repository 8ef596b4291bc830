import { configuredProviders } from '../shared/failover/providers-config';
import { runWorker } from '../shared/worker/run-worker';
import { smtpProviderList } from './smtp-provider';

void runWorker({
  type: 'email',
  metricsPort: 9102,
  createProviders: (env) => configuredProviders(env, smtpProviderList),
});
