import type { StatusMetrics } from './status-metrics';
import type { WriteResult } from './status-writer';

/** Turns a committed write into the service's counters and the callback-lag histogram. */
export function recordWrite(metrics: StatusMetrics, result: WriteResult): void {
  for (const event of result.recorded) metrics.events.inc({ channel: event.channel, status: event.status, outcome: 'recorded' });
  for (const event of result.duplicates) metrics.events.inc({ channel: event.channel, status: event.status, outcome: 'duplicate' });
  for (const entry of result.changes) {
    if (!entry.statusChanged) continue;
    metrics.transitions.inc({ channel: entry.channel, from: entry.from ?? 'none', to: entry.to });
    if (entry.callbackLagSeconds !== undefined) metrics.callbackLag.observe({ channel: entry.channel, status: entry.to }, entry.callbackLagSeconds);
  }
}
