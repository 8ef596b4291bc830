/**
 * Overview: is the stack keeping up? Accepted vs delivered per channel, retries and dead letters, queue backlogs
 * and consumers, end-to-end latency, and what the API refuses.
 */
import { RATE, WORK_QUEUES, finish, relayDashboard, row, singleStat, timeSeries } from './panels';

export const uid = 'relay-overview';

const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (le) (rate(message_end_to_end_seconds_bucket[${RATE}])))`;

export function build(): Record<string, unknown> {
  const processed = (outcome: string) =>
    `sum by (type) (rate(messages_processed_total{outcome="${outcome}"}[${RATE}]))`;
  return finish(
    relayDashboard(uid, 'relay-stack / Overview', 'Accepted vs delivered per channel, backlogs, end-to-end latency, API errors.')
      .withRow(row('Now'))
      .withPanel(
        singleStat('Accepted / s', [{ expr: `sum(rate(messages_published_total{job="app", outcome="confirmed"}[${RATE}]))` }], {
          unit: 'reqps',
          description: 'Messages the broker confirmed (the API answered 202), all channels.',
        }),
      )
      .withPanel(
        singleStat('Delivered / s', [{ expr: `sum(rate(messages_processed_total{outcome="delivered"}[${RATE}]))` }], {
          unit: 'reqps',
          description: 'Messages the providers accepted, all workers and replicas.',
        }),
      )
      .withPanel(
        singleStat(
          'Work backlog',
          [{ expr: `sum(rabbitmq_detailed_queue_messages{vhost="relay", queue=~"${WORK_QUEUES}"})` }],
          { thresholds: [[1000, 'orange'], [10000, 'red']], description: 'Ready + unacked messages in relay.sms, relay.email and relay.notif.' },
        ),
      )
      .withPanel(
        singleStat(
          'End-to-end p99',
          [{ expr: quantile(0.99) }],
          { unit: 's', thresholds: [[5, 'orange'], [10, 'red']], description: 'Accepted by the API to delivered, all channels (alert RelayEndToEndLatencyHigh at 10 s).' },
        ),
      )
      .withRow(row('Throughput per channel'))
      .withPanel(
        timeSeries('Accepted / s', [{ expr: `sum by (type) (rate(messages_published_total{job="app", outcome="confirmed"}[${RATE}]))`, legend: '{{type}}' }], {
          unit: 'reqps', width: 6, min: 0, description: 'messages_published_total{outcome="confirmed"}: durable in the broker, answered 202.',
        }),
      )
      .withPanel(timeSeries('Delivered / s', [{ expr: processed('delivered'), legend: '{{type}}' }], { unit: 'reqps', width: 6, min: 0 }))
      .withPanel(
        timeSeries('Retried / s', [{ expr: processed('retried'), legend: '{{type}}' }], {
          unit: 'reqps', width: 6, min: 0, description: 'Transient failures republished to a relay.retry.* delay tier.',
        }),
      )
      .withPanel(
        timeSeries('Dead-lettered / s', [{ expr: processed('dead_lettered'), legend: '{{type}}' }], {
          unit: 'reqps', width: 6, min: 0, description: 'Permanent failures, exhausted attempts and poison messages sent to relay.<type>.dead.',
        }),
      )
      .withRow(row('Queues'))
      .withPanel(
        timeSeries(
          'Work queue backlog',
          [
            { expr: `sum by (queue) (rabbitmq_detailed_queue_messages_ready{vhost="relay", queue=~"${WORK_QUEUES}"})`, legend: '{{queue}} ready' },
            { expr: `sum by (queue) (rabbitmq_detailed_queue_messages_unacked{vhost="relay", queue=~"${WORK_QUEUES}"})`, legend: '{{queue}} unacked' },
          ],
          { min: 0, description: 'Ready = waiting for a consumer; unacked = prefetched by a worker, being processed.' },
        ),
      )
      .withPanel(
        timeSeries(
          'Retry, dead-letter and unroutable queues',
          [
            {
              expr: `sum by (queue) (rabbitmq_detailed_queue_messages{vhost="relay", queue=~"relay\\\\.retry\\\\..+|relay\\\\..+\\\\.dead|relay\\\\.unroutable"})`,
              legend: '{{queue}}',
            },
          ],
          { min: 0, description: 'Messages waiting in a delay tier, given up (dead) or published with an unknown type (unroutable).' },
        ),
      )
      .withPanel(
        timeSeries('Consumers per work queue', [
          { expr: `sum by (queue) (rabbitmq_detailed_queue_consumers{vhost="relay", queue=~"${WORK_QUEUES}"})`, legend: '{{queue}}' },
        ], { min: 0, description: 'One consumer per worker replica; 0 fires RelayQueueNoConsumers.' }),
      )
      .withPanel(
        timeSeries('Services up', [
          { expr: 'sum by (job) (up{job=~"app|sms-worker|email-worker|notif-worker|rabbitmq|rabbitmq-detailed"})', legend: '{{job}}' },
        ], { min: 0, description: 'Scrape targets answering, per job (workers: one per replica).' }),
      )
      .withRow(row('Latency and errors'))
      .withPanel(
        timeSeries(
          'End-to-end latency',
          [
            { expr: quantile(0.5), legend: 'p50' },
            { expr: quantile(0.95), legend: 'p95' },
            { expr: quantile(0.99), legend: 'p99' },
          ],
          { unit: 's', min: 0, description: 'message_end_to_end_seconds: from acceptedAt (API) to the provider accepting the message, retries included.' },
        ),
      )
      .withPanel(
        timeSeries('End-to-end p99 per channel', [
          { expr: `histogram_quantile(0.99, sum by (type, le) (rate(message_end_to_end_seconds_bucket[${RATE}])))`, legend: '{{type}}' },
        ], { unit: 's', min: 0 }),
      )
      .withPanel(
        timeSeries('Envelopes per AMQP message (group commit)', [
          { expr: `sum(rate(publish_batch_size_sum{job="app"}[${RATE}])) / sum(rate(publish_batch_size_count{job="app"}[${RATE}]))`, legend: 'mean' },
          { expr: `histogram_quantile(0.99, sum by (le) (rate(publish_batch_size_bucket{job="app"}[${RATE}])))`, legend: 'p99' },
        ], { min: 0, description: 'Requests that arrived together and shared one persistent message and one broker confirm.' }),
      )
      .withPanel(
        timeSeries('API responses / s by status', [
          { expr: `sum by (status) (rate(http_requests_total{job="app", route=~"/v1/.*"}[${RATE}]))`, legend: '{{status}}' },
        ], { unit: 'reqps', min: 0, stacked: true, description: 'POST /v1/* only (health and metrics endpoints excluded).' }),
      )
      .withPanel(
        timeSeries(
          '503s and publish failures / s',
          [
            { expr: `sum(rate(http_requests_total{job="app", route=~"/v1/.*", status="503"}[${RATE}]))`, legend: '503 broker_unavailable' },
            { expr: `sum by (type, outcome) (rate(messages_published_total{job="app", outcome!="confirmed"}[${RATE}]))`, legend: '{{type}} {{outcome}}' },
          ],
          { unit: 'reqps', min: 0, description: 'Requests the API could not make durable: broker down, blocked, nacked or timed out.' },
        ),
      ),
  );
}
