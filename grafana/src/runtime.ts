/**
 * Node.js runtime: prom-client default metrics of every Node process (each PM2 app instance, each worker
 * replica): event-loop lag, heap, resident memory, CPU, GC, handles, restarts.
 * Metric reference: https://github.com/siimon/prom-client#default-metrics
 */
import { NODE_JOBS, RATE, finish, jobVariable, relayDashboard, row, timeSeries } from './panels';

export const uid = 'relay-nodejs';

const JOB = 'job=~"$job"';
/** One line per process: the app's PM2 instances share a target and differ by app_instance. */
const BY = 'job, instance, app_instance';
const LEGEND = '{{job}} {{instance}} {{app_instance}}';

export function build(): Record<string, unknown> {
  return finish(
    relayDashboard(uid, 'relay-stack / Node.js runtime', 'Event-loop lag, heap, memory, CPU and GC of every Node process.')
      .withVariable(jobVariable(NODE_JOBS))
      .withRow(row('Event loop and CPU'))
      .withPanel(
        timeSeries('Event-loop lag p99', [{ expr: `max by (${BY}) (nodejs_eventloop_lag_p99_seconds{${JOB}})`, legend: LEGEND }], {
          unit: 's', min: 0, description: 'A busy loop delays every request and every ack: above ~100 ms the process is CPU-bound.',
        }),
      )
      .withPanel(
        timeSeries('CPU per process', [{ expr: `sum by (${BY}) (rate(process_cpu_seconds_total{${JOB}}[${RATE}]))`, legend: LEGEND }], {
          unit: 'percentunit', min: 0, description: '1.0 = one full core.',
        }),
      )
      .withRow(row('Memory'))
      .withPanel(
        timeSeries(
          'Heap used / total',
          [
            { expr: `sum by (${BY}) (nodejs_heap_size_used_bytes{${JOB}})`, legend: `${LEGEND} used` },
            { expr: `sum by (${BY}) (nodejs_heap_size_total_bytes{${JOB}})`, legend: `${LEGEND} total` },
          ],
          { unit: 'bytes', min: 0 },
        ),
      )
      .withPanel(
        timeSeries('Resident memory', [{ expr: `sum by (${BY}) (process_resident_memory_bytes{${JOB}})`, legend: LEGEND }], {
          unit: 'bytes', min: 0,
        }),
      )
      .withRow(row('GC, handles, restarts'))
      .withPanel(
        timeSeries('GC time / s', [{ expr: `sum by (${BY}) (rate(nodejs_gc_duration_seconds_sum{${JOB}}[${RATE}]))`, legend: LEGEND }], {
          unit: 'percentunit', min: 0, width: 8, description: 'Share of wall time spent in garbage collection.',
        }),
      )
      .withPanel(
        timeSeries('Active handles', [{ expr: `sum by (${BY}) (nodejs_active_handles_total{${JOB}})`, legend: LEGEND }], {
          min: 0, width: 8, description: 'Sockets, timers, servers: a steady climb is a leak.',
        }),
      )
      .withPanel(
        timeSeries('Uptime', [{ expr: `max by (${BY}) (time() - process_start_time_seconds{${JOB}})`, legend: LEGEND }], {
          unit: 's', min: 0, width: 8, description: 'Drops to zero when PM2 (or Docker) restarts a process.',
        }),
      ),
  );
}
