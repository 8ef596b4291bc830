import { runWorker } from '../shared/worker/run-worker';
import { createSmtpProvider } from './smtp-provider';

void runWorker({ type: 'email', metricsPort: 9102, createProvider: (env) => createSmtpProvider(env) });
