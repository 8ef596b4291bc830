import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A registry with prom-client's default Node.js metrics (event loop lag, heap, CPU, GC). Labels set here are added
 * to every series of the process (the app uses it for its PM2 instance id).
 */
export function createRegistry(defaultLabels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Latency buckets (seconds) for accepted-to-delivered times: from a few ms to past the longest retry tier. */
export const END_TO_END_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Latency buckets (seconds) for one HTTP request or one provider call. */
export const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
