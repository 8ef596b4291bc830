import { configuredProviders } from '../shared/failover/providers-config';
import { runWorker } from '../shared/worker/run-worker';
import { createTwilioProvider, twilioConfigSchema } from './twilio-provider';

void runWorker({
  type: 'sms',
  metricsPort: 9101,
  createProviders: (env) =>
    configuredProviders(env, { listVar: 'SMS_PROVIDERS', kind: 'twilio', keys: Object.keys(twilioConfigSchema.shape), identityVar: 'TWILIO_ACCOUNT_SID', create: createTwilioProvider }),
});
