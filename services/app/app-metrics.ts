import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REQUEST_BUCKETS } from '../shared/metrics/registry';

export type PublishOutcome = 'confirmed' | 'rejected' | 'unavailable';

/** The app's series named in docs/contract.md, registered on the instance's own registry. */
export function createAppMetrics(registry: Registry, readPublisherInFlight: () => number = () => 0) {
  return {
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['route', 'method'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    published: new Counter({
      name: 'messages_published_total',
      help: 'Messages the API tried to make durable: confirmed by the broker, rejected (nack, timeout) or unavailable (broker down, blocked, buffer full)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'publish_batch_size',
      help: 'Envelopes per AMQP message published (group commit)',
      buckets: [1, 2, 5, 10, 20, 50, 100],
      registers: [registry],
    }),
    publisherInFlight: new Gauge({
      name: 'publisher_in_flight',
      help: 'Messages accepted by the API and awaiting a broker confirm',
      registers: [registry],
      collect() {
        this.set(readPublisherInFlight());
      },
    }),
    brokerConnected: new Gauge({ name: 'broker_connected', help: '1 while the broker connection is up', registers: [registry] }),
    twilioCallbacks: new Counter({
      name: 'twilio_callbacks_total',
      help: 'Twilio status callbacks: recorded (event confirmed by the broker), ignored (a step we do not track), forbidden (bad or missing signature), invalid, unavailable (broker)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type AppMetrics = ReturnType<typeof createAppMetrics>;
