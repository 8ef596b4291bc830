import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { END_TO_END_BUCKETS, REQUEST_BUCKETS } from '../shared/metrics/registry';

/** The status service's series (docs/architecture.md); labels stay low in cardinality. */
export function createStatusMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'status_events_total',
      help: 'Status events consumed, by outcome (recorded: new; duplicate: seen before; invalid: not a status event, dropped and logged)',
      labelNames: ['channel', 'status', 'outcome'] as const,
      registers: [registry],
    }),
    transitions: new Counter({
      name: 'status_transitions_total',
      help: 'Messages whose recorded status changed (from "none": first event of the message)',
      labelNames: ['channel', 'from', 'to'] as const,
      registers: [registry],
    }),
    callbackLag: new Histogram({
      name: 'status_callback_lag_seconds',
      help: 'Time from the provider accepting a message (sent) to its confirmation (delivered or failed by the provider)',
      labelNames: ['channel', 'status'] as const,
      buckets: END_TO_END_BUCKETS,
      registers: [registry],
    }),
    writeDuration: new Histogram({
      name: 'status_write_duration_seconds',
      help: 'One write transaction of a batch of events',
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    writeBatchSize: new Histogram({
      name: 'status_write_batch_events',
      help: 'Events per write transaction',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    writeFailures: new Counter({ name: 'status_write_failures_total', help: 'Write transactions that failed (database away); the batch is held and written again', registers: [registry] }),
    changesPublished: new Counter({ name: 'status_changes_published_total', help: 'Status changes published to relay.status.changes from the outbox', registers: [registry] }),
    pruned: new Counter({ name: 'status_pruned_messages_total', help: 'Messages (with their events) removed by retention', registers: [registry] }),
    databaseUp: new Gauge({ name: 'status_database_up', help: '1 while the status database answers', registers: [registry] }),
    brokerConnected: new Gauge({ name: 'broker_connected', help: '1 while the broker connection is up', registers: [registry] }),
    consuming: new Gauge({ name: 'status_consuming', help: '1 while the service has a consumer on relay.status', registers: [registry] }),
  };
}

export type StatusMetrics = ReturnType<typeof createStatusMetrics>;
