import { runWorker } from '../shared/worker/run-worker';
import { createTwilioProvider } from './twilio-provider';

void runWorker({
  type: 'sms',
  metricsPort: 9101,
  createProvider: (env) => createTwilioProvider(env),
});
