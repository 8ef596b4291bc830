/**
 * Load test: k6 results pushed by its experimental-prometheus-rw output (`make loadtest`; trend stats from
 * K6_PROMETHEUS_RW_TREND_STATS=p(95),p(99), in seconds) next to what the stack did with the load.
 * Runs are told apart by the `testid` tag (`k6 run --tag testid=...`); "All" also matches runs without one.
 * https://grafana.com/docs/k6/latest/results-output/real-time/prometheus-remote-write/
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE, RATE, WORK_QUEUES, finish, relayDashboard, row, singleStat, timeSeries } from './panels';

export const uid = 'relay-loadtest';

const TEST = 'testid=~"$testid"';

export function build(): Record<string, unknown> {
  const testid = new dashboard.QueryVariableBuilder('testid')
    .label('test id')
    .datasource(DATASOURCE)
    .query({ qryType: 1, query: 'label_values(k6_http_reqs_total, testid)', refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition('label_values(k6_http_reqs_total, testid)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalDesc)
    .includeAll(true)
    .allValue('.*')
    .multi(false)
    .current({ text: 'All', value: '$__all' });
  return finish(
    relayDashboard(uid, 'relay-stack / Load test', 'k6 results (remote write) next to the stack\'s accepted and delivered rates.')
      .time({ from: 'now-15m', to: 'now' })
      .refresh('5s')
      .withVariable(testid)
      .withRow(row('k6'))
      .withPanel(singleStat('k6 requests / s', [{ expr: `sum(rate(k6_http_reqs_total{${TEST}}[${RATE}]))` }], { unit: 'reqps' }))
      .withPanel(singleStat('Virtual users', [{ expr: `sum(k6_vus{${TEST}})` }]))
      .withPanel(
        singleStat('Failed requests', [{ expr: `avg(k6_http_req_failed_rate{${TEST}})` }], {
          unit: 'percentunit', thresholds: [[0.01, 'red']], description: 'k6 http_req_failed: non-2xx/3xx answers (a 503 counts).',
        }),
      )
      .withPanel(singleStat('HTTP p99', [{ expr: `max(k6_http_req_duration_p99{${TEST}})` }], { unit: 's', thresholds: [[0.5, 'orange'], [1, 'red']] }))
      .withPanel(
        timeSeries('k6 requests / s by status', [
          { expr: `sum by (status) (rate(k6_http_reqs_total{${TEST}}[${RATE}]))`, legend: '{{status}}' },
        ], { unit: 'reqps', min: 0, stacked: true }),
      )
      .withPanel(
        timeSeries(
          'k6 HTTP request duration',
          [
            { expr: `max(k6_http_req_duration_p95{${TEST}})`, legend: 'p95' },
            { expr: `max(k6_http_req_duration_p99{${TEST}})`, legend: 'p99' },
          ],
          { unit: 's', min: 0, description: 'Client-side latency of POST /v1/*, as k6 measured it (trend stats, per push interval).' },
        ),
      )
      .withPanel(
        timeSeries(
          'Virtual users and iterations',
          [
            { expr: `sum(k6_vus{${TEST}})`, legend: 'VUs' },
            { expr: `sum(rate(k6_iterations_total{${TEST}}[${RATE}]))`, legend: 'iterations / s' },
          ],
          { min: 0 },
        ),
      )
      .withPanel(
        timeSeries('k6 failed request rate', [{ expr: `avg(k6_http_req_failed_rate{${TEST}})`, legend: 'failed' }], {
          unit: 'percentunit', min: 0,
        }),
      )
      .withRow(row('The stack under load'))
      .withPanel(
        timeSeries(
          'Accepted vs delivered / s',
          [
            { expr: `sum(rate(messages_published_total{job="app", outcome="confirmed"}[${RATE}]))`, legend: 'accepted (202)' },
            { expr: `sum(rate(messages_processed_total{outcome="delivered"}[${RATE}]))`, legend: 'delivered' },
            { expr: `sum(rate(messages_published_total{job="app", outcome!="confirmed"}[${RATE}]))`, legend: 'refused (503)' },
          ],
          { unit: 'reqps', min: 0, description: 'Delivered trailing accepted means the backlog grows: the workers are the bottleneck.' },
        ),
      )
      .withPanel(
        timeSeries('Work queue backlog', [
          { expr: `sum by (queue) (rabbitmq_detailed_queue_messages{vhost="relay", queue=~"${WORK_QUEUES}"})`, legend: '{{queue}}' },
        ], { min: 0 }),
      )
      .withPanel(
        timeSeries(
          'End-to-end latency',
          [
            { expr: `histogram_quantile(0.95, sum by (le) (rate(message_end_to_end_seconds_bucket[${RATE}])))`, legend: 'p95' },
            { expr: `histogram_quantile(0.99, sum by (le) (rate(message_end_to_end_seconds_bucket[${RATE}])))`, legend: 'p99' },
          ],
          { unit: 's', min: 0 },
        ),
      )
      .withPanel(
        timeSeries('API server-side p99', [
          { expr: `histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{job="app", route=~"/v1/.*"}[${RATE}])))`, legend: '{{route}}' },
        ], { unit: 's', min: 0, description: 'Time to answer, broker confirm included; compare with k6\'s client-side p99.' }),
      ),
  );
}
