/**
 * Workers: per worker job and per replica (`instance`, one per container when scaled), how fast messages are
 * processed, how long a provider call takes, what is in flight and which provider errors happen; per configured
 * provider (failover, docs/failover.md), its traffic, error rate and circuit state; then the delivery status the
 * workers report, as the status service records it (docs/status.md).
 */
import { RATE, WORKER_JOBS, finish, jobVariable, relayDashboard, row, timeSeries } from './panels';

export const uid = 'relay-workers';

const JOB = 'job=~"$job"';
const STATUS = 'job="status-service"';

export function build(): Record<string, unknown> {
  const duration = (q: number) =>
    `histogram_quantile(${q}, sum by (job, instance, le) (rate(message_processing_duration_seconds_bucket{${JOB}}[${RATE}])))`;
  return finish(
    relayDashboard(uid, 'relay-stack / Workers', 'Per worker and per replica: processed rate by outcome, processing time, in flight, provider errors.')
      .withVariable(jobVariable(WORKER_JOBS))
      .withRow(row('Processing'))
      .withPanel(
        timeSeries('Processed / s by outcome', [
          { expr: `sum by (job, instance, outcome) (rate(messages_processed_total{${JOB}}[${RATE}]))`, legend: '{{job}} {{instance}} {{outcome}}' },
        ], { unit: 'reqps', min: 0, description: 'delivered, retried (to a delay tier) or dead_lettered, per replica.' }),
      )
      .withPanel(
        timeSeries('Delivered / s per job', [
          { expr: `sum by (job) (rate(messages_processed_total{${JOB}, outcome="delivered"}[${RATE}]))`, legend: '{{job}}' },
        ], { unit: 'reqps', min: 0, description: 'All replicas of a worker together.' }),
      )
      .withPanel(
        timeSeries(
          'Processing duration',
          [
            { expr: duration(0.5), legend: '{{job}} {{instance}} p50' },
            { expr: duration(0.99), legend: '{{job}} {{instance}} p99' },
          ],
          { unit: 's', min: 0, description: 'message_processing_duration_seconds: one delivery attempt, provider call included.' },
        ),
      )
      .withPanel(
        timeSeries('In flight', [
          { expr: `sum by (job, instance) (messages_in_flight{${JOB}})`, legend: '{{job}} {{instance}}' },
        ], { min: 0, description: 'Handlers running now; bounded by PREFETCH per replica.' }),
      )
      .withRow(row('Providers and failover'))
      .withPanel(
        timeSeries('Provider calls / s', [
          { expr: `sum by (job, provider, outcome) (rate(provider_requests_total{${JOB}}[${RATE}]))`, legend: '{{job}} {{provider}} {{outcome}}' },
        ], { unit: 'reqps', min: 0, description: 'Calls to each configured provider, all replicas together; during a failover the backup takes the traffic.' }),
      )
      .withPanel(
        timeSeries('Provider error rate', [
          {
            expr: `sum by (job, provider) (rate(provider_requests_total{${JOB}, outcome!="delivered"}[${RATE}])) / sum by (job, provider) (rate(provider_requests_total{${JOB}}[${RATE}]))`,
            legend: '{{job}} {{provider}}',
          },
        ], { unit: 'percentunit', min: 0, max: 1, description: 'Share of calls not accepted (transient, permanent, credentials). Only transient failures count towards opening a circuit.' }),
      )
      .withPanel(
        timeSeries('Circuit state', [
          { expr: `max by (job, provider) (provider_circuit_state{${JOB}})`, legend: '{{job}} {{provider}}' },
        ], { min: 0, max: 2, description: '0 closed, 1 half-open (one probe), 2 open (traffic goes to the next provider). One state shared by all replicas.' }),
      )
      .withRow(row('Errors and health'))
      .withPanel(
        timeSeries('Provider errors / s', [
          { expr: `sum by (job, instance, kind) (rate(provider_errors_total{${JOB}}[${RATE}]))`, legend: '{{job}} {{instance}} {{kind}}' },
        ], { unit: 'reqps', min: 0, description: 'transient errors are retried, permanent ones dead-lettered at once.' }),
      )
      .withPanel(
        timeSeries('End-to-end p99 per job', [
          { expr: `histogram_quantile(0.99, sum by (job, le) (rate(message_end_to_end_seconds_bucket{${JOB}}[${RATE}])))`, legend: '{{job}}' },
        ], { unit: 's', min: 0 }),
      )
      .withPanel(
        timeSeries('Broker connected', [
          { expr: `min by (job, instance) (broker_connected{${JOB}})`, legend: '{{job}} {{instance}}' },
        ], { min: 0, description: '1 while the replica holds its AMQP connection.' }),
      )
      .withPanel(
        timeSeries('Replicas up', [{ expr: `sum by (job) (up{${JOB}})`, legend: '{{job}}' }], {
          min: 0, description: 'Scraped replicas per worker (DNS discovery finds every `docker compose --scale` replica).',
        }),
      )
      .withRow(row('Delivery status'))
      .withPanel(
        timeSeries('Status transitions / s per channel', [
          { expr: `sum by (channel, to) (rate(status_transitions_total{${STATUS}}[${RATE}]))`, legend: '{{channel}} → {{to}}' },
        ], { unit: 'reqps', min: 0, description: 'Messages whose recorded status changed, by channel and new status (status-service, all replicas).' }),
      )
      .withPanel(
        timeSeries('Status events / s by outcome', [
          { expr: `sum by (outcome) (rate(status_events_total{${STATUS}}[${RATE}]))`, legend: '{{outcome}}' },
          { expr: `sum by (outcome) (rate(status_events_reported_total{outcome="dropped"}[${RATE}]))`, legend: 'dropped by reporters' },
        ], { unit: 'reqps', min: 0, description: 'recorded (new), duplicate (seen before), invalid (dropped and logged); reporters drop the oldest only while the broker is away for long.' }),
      )
      .withPanel(
        timeSeries('Status database up', [
          { expr: `min by (instance) (status_database_up{${STATUS}})`, legend: '{{instance}}' },
        ], { min: 0, description: '0 while the status service cannot write: events wait in relay.status, nothing is lost.' }),
      ),
  );
}
