import { configuredProviders } from '../shared/failover/providers-config';
import { runWorker } from '../shared/worker/run-worker';
import { createSmtpProvider, smtpConfigSchema } from './smtp-provider';

void runWorker({
  type: 'email',
  metricsPort: 9102,
  createProviders: (env) => configuredProviders(env, { listVar: 'EMAIL_PROVIDERS', kind: 'smtp', keys: Object.keys(smtpConfigSchema.shape), identityVar: 'SMTP_URL', create: createSmtpProvider }),
});
