import { runWorker } from '../shared/worker/run-worker';
import { createWebhookProvider } from './webhook-provider';

void runWorker({ type: 'notif', metricsPort: 9103, createProvider: (env) => createWebhookProvider(env) });
