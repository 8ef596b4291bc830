import { configuredProviders } from '../shared/failover/providers-config';
import { runWorker } from '../shared/worker/run-worker';
import { twilioProviderList } from './twilio-provider';

void runWorker({
  type: 'sms',
  metricsPort: 9101,
  createProviders: (env) => configuredProviders(env, twilioProviderList),
});
