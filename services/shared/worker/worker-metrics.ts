import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { END_TO_END_BUCKETS, REQUEST_BUCKETS } from '../metrics/registry';

export type ProcessedOutcome = 'delivered' | 'retried' | 'dead_lettered';

/** The worker series named in docs/contract.md; labels stay low in cardinality (type, outcome, kind). */
export function createWorkerMetrics(registry: Registry) {
  return {
    processed: new Counter({
      name: 'messages_processed_total',
      help: 'Messages handled by this worker, by outcome',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    processingDuration: new Histogram({
      name: 'message_processing_duration_seconds',
      help: 'Time from delivery to this worker until the message was settled',
      labelNames: ['type'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    endToEnd: new Histogram({
      name: 'message_end_to_end_seconds',
      help: 'Time from acceptance by the API to acceptance by the provider',
      labelNames: ['type'] as const,
      buckets: END_TO_END_BUCKETS,
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'provider_errors_total',
      help: 'Provider failures by classification',
      labelNames: ['type', 'kind'] as const,
      registers: [registry],
    }),
    providerRequests: new Counter({
      name: 'provider_requests_total',
      help: 'Calls to each configured provider, by outcome (delivered, transient, permanent, credentials)',
      labelNames: ['type', 'provider', 'outcome'] as const,
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'provider_circuit_state',
      help: "State of each provider's circuit, shared by the worker's replicas: 0 closed, 1 half-open (one probe), 2 open (traffic goes to the next provider)",
      labelNames: ['type', 'provider'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'messages_in_flight',
      help: 'Messages this worker is handling right now',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    deferred: new Counter({
      name: 'messages_deferred_total',
      help: 'Messages sent back through a delay queue without using an attempt (reason: credentials, the provider refused our account)',
      labelNames: ['type', 'reason'] as const,
      registers: [registry],
    }),
    duplicatesSkipped: new Counter({
      name: 'messages_duplicates_skipped_total',
      help: 'Copies of a message this worker process had delivered recently (redelivery, idempotent retry), acked without calling the provider',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    credentialsRejected: new Gauge({
      name: 'provider_credentials_rejected',
      help: '1 from the provider refusing our credentials until it accepts a message again; the worker pauses consuming meanwhile',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    consuming: new Gauge({
      name: 'worker_consuming',
      help: '1 while the worker has a consumer on its queue (0: broker down, queue missing, or paused)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    brokerConnected: new Gauge({ name: 'broker_connected', help: '1 while the broker connection is up', registers: [registry] }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
