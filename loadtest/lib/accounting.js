// Exact pipeline accounting from Prometheus' raw samples: how many messages the API accepted, the workers
// delivered and dead-lettered, and the end-to-end latency histogram, between two instants, correct across
// restarts of any process before or during the test. Pure JavaScript (ES2020, no k6 and no Node imports): the
// k6 scripts use it through lib/pipeline.js, and test/loadtest/ runs the very same module in Node against a real
// Prometheus. The caller runs the queries (k6: http.get; Node: fetch) and hands the answers to tally().
//
// Why not the simple forms:
// - `sum(x)` at the end minus `sum(x)` at the start: the start value includes series of processes that are gone
//   but still inside Prometheus' 5-minute lookback (after a restart of Prometheus nothing marks them stale, and
//   with DNS service discovery a recreated container is a new series): a stack restarted just before the test
//   gave `accepted -5185 = delivered -5300`, and resets() saw nothing, because the drop lies between the last
//   sample before the window and the first one inside it.
// - `increase(x[w])`: extrapolates to the window edges (not an integer count) and, for a series born inside the
//   window (prom-client creates a labelled series on its first inc), ignores the first sample's value.
//
// What tally() does instead, per series (one label set), from every raw sample in [start - lookback, end]:
// - baseline: the last sample at or before the start (a series without one was born in the window: from 0);
// - then each sample inside the window adds `value - previous`, or its whole value when the counter was reset:
//   the value went down, or `process_start_time_seconds` of the process that exposed it (same job, instance and
//   app_instance, same scrape) changed, which also catches a restarted process whose new count already passed the
//   old one. A series that has no sample inside the window adds nothing, whatever its old value.
// Limits (Prometheus only knows what it scraped): increments a process made after its last scrape before it died
// are not counted, and a series last scraped more than BASELINE_LOOKBACK_MS before the start, whose process kept
// running, is counted from 0.

/** Counter selectors; summed over every series (app series carry `app_instance`, scaled workers an `instance`). */
export const COUNTERS = {
    accepted: 'messages_published_total{outcome="confirmed"}',
    delivered: 'messages_processed_total{outcome="delivered"}',
    deadLettered: 'messages_processed_total{outcome="dead_lettered"}',
};
export const E2E_BUCKETS = 'message_end_to_end_seconds_bucket';
export const START_TIME = 'process_start_time_seconds';
/** Labels that name one process (prometheus/prometheus*.yml targets; the app's PM2 instances). */
export const PROCESS_LABELS = ['job', 'instance', 'app_instance'];
/** How far before the start a series' baseline sample is looked for. */
export const BASELINE_LOOKBACK_MS = 15 * 60 * 1000;

/** @typedef {{ metric: Record<string, string>, values: Array<[number, string]> }} PromSeries */
/** @typedef {{ expr: string, atMs: number }} PromQuery */
/** @typedef {'accepted' | 'delivered' | 'deadLettered' | 'e2eBuckets' | 'startTimes'} QueryName */
/** @typedef {Record<QueryName, PromSeries[]>} QueryResults */
/**
 * @typedef {{ accepted: number, delivered: number, deadLettered: number, resets: number, e2eCount: number,
 *   e2e: { p50: number | null, p95: number | null, p99: number | null } }} Tally
 */

/**
 * The instant queries tally() needs: range selectors, each returning the raw samples of every series in
 * [startMs - BASELINE_LOOKBACK_MS, endMs], evaluated at endMs (GET /api/v1/query?query=<expr>&time=<atMs/1000>;
 * the answer's `data.result` is a matrix).
 * @param {number} startMs @param {number} endMs @returns {Record<QueryName, PromQuery>}
 */
export function accountingQueries(startMs, endMs) {
    const range = `[${Math.max(1, Math.ceil(endMs - startMs + BASELINE_LOOKBACK_MS))}ms]`;
    /** @param {string} selector @returns {PromQuery} */
    const q = (selector) => ({ expr: selector + range, atMs: endMs });
    return {
        accepted: q(COUNTERS.accepted),
        delivered: q(COUNTERS.delivered),
        deadLettered: q(COUNTERS.deadLettered),
        e2eBuckets: q(E2E_BUCKETS),
        startTimes: q(START_TIME),
    };
}

/** @param {Record<string, string>} labels @returns {string} */
function processKey(labels) {
    return PROCESS_LABELS.map((name) => `${name}=${labels[name] || ''}`).join(',');
}

/** @param {PromSeries} series @returns {Array<[number, number]>} [ms, value], ascending */
function points(series) {
    return series.values.map(([t, v]) => /** @type {[number, number]} */ ([Math.round(t * 1000), Number(v)]));
}

/**
 * Process start time by process and scrape timestamp, from the `startTimes` answer.
 * @param {PromSeries[]} startTimes @returns {(labels: Record<string, string>, atMs: number) => number | undefined}
 */
export function startTimeIndex(startTimes) {
    /** @type {Map<string, Map<number, number>>} */
    const byProcess = new Map();
    for (const series of startTimes) {
        const key = processKey(series.metric);
        const samples = byProcess.get(key) || new Map();
        for (const [t, v] of points(series)) samples.set(t, v);
        byProcess.set(key, samples);
    }
    return (labels, atMs) => {
        const samples = byProcess.get(processKey(labels));
        return samples ? samples.get(atMs) : undefined;
    };
}

/** @param {number | undefined} before @param {number | undefined} now */
const restarted = (before, now) => before !== undefined && now !== undefined && before !== now;

/**
 * One counter series' increase over (startMs, end]: see the top of this file.
 * @param {Array<[number, number]>} samples [ms, value], ascending
 * @param {number} startMs
 * @param {(atMs: number) => number | undefined} startedAt the exposing process' start time at a sample's time
 * @returns {{ increase: number, resets: number }}
 */
export function seriesIncrease(samples, startMs, startedAt) {
    /** @type {{ value: number, started: number | undefined } | null} */
    let previous = null;
    let increase = 0;
    let resets = 0;
    for (const [t, value] of samples) {
        const started = startedAt(t);
        if (t > startMs) {
            if (previous === null) {
                increase += value; // born in the window: counted from 0
            } else if (value < previous.value || restarted(previous.started, started)) {
                increase += value; // a new process, counted from 0
                resets += 1;
            } else {
                increase += value - previous.value;
            }
        }
        previous = { value, started };
    }
    return { increase, resets };
}

/**
 * Sum of seriesIncrease() over every series of one answer.
 * @param {PromSeries[]} result @param {number} startMs @param {ReturnType<typeof startTimeIndex>} startTimes
 * @returns {{ increase: number, resets: number }}
 */
export function counterIncrease(result, startMs, startTimes) {
    let increase = 0;
    let resets = 0;
    for (const series of result) {
        const r = seriesIncrease(points(series), startMs, (t) => startTimes(series.metric, t));
        increase += r.increase;
        resets += r.resets;
    }
    return { increase, resets };
}

/**
 * PromQL's histogram_quantile() over cumulative bucket counts by upper bound: linear interpolation inside the
 * bucket (the first one starts at 0), the highest finite bound when the rank falls in +Inf, null when empty.
 * @param {number} q @param {Map<number, number>} buckets @returns {number | null}
 */
export function histogramQuantile(q, buckets) {
    const bounds = [...buckets.keys()].sort((a, b) => a - b);
    const total = buckets.get(Infinity) || 0;
    if (total <= 0 || bounds[bounds.length - 1] !== Infinity) return null;
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const bound of bounds) {
        const count = Math.max(below, buckets.get(bound) || 0); // cumulative counts never decrease
        if (count >= rank) {
            if (bound === Infinity) return lower;
            return lower + ((bound - lower) * (rank - below)) / Math.max(1e-9, count - below);
        }
        lower = bound;
        below = count;
    }
    return lower;
}

/**
 * Accepted, delivered, dead-lettered (exact), counter resets seen, and end-to-end p50/p95/p99 (seconds, from the
 * exact increase of every bucket series summed by `le`) between startMs and the queries' end.
 * @param {QueryResults} results the `data.result` of each accountingQueries() query
 * @param {number} startMs @returns {Tally}
 */
export function tally(results, startMs) {
    const startTimes = startTimeIndex(results.startTimes);
    const accepted = counterIncrease(results.accepted, startMs, startTimes);
    const delivered = counterIncrease(results.delivered, startMs, startTimes);
    const deadLettered = counterIncrease(results.deadLettered, startMs, startTimes);
    /** @type {Map<number, number>} */
    const buckets = new Map();
    for (const series of results.e2eBuckets) {
        const le = series.metric.le === '+Inf' ? Infinity : Number(series.metric.le);
        const r = seriesIncrease(points(series), startMs, (t) => startTimes(series.metric, t));
        buckets.set(le, (buckets.get(le) || 0) + r.increase);
    }
    return {
        accepted: accepted.increase,
        delivered: delivered.increase,
        deadLettered: deadLettered.increase,
        resets: accepted.resets + delivered.resets + deadLettered.resets,
        e2eCount: buckets.get(Infinity) || 0,
        e2e: {
            p50: histogramQuantile(0.5, buckets),
            p95: histogramQuantile(0.95, buckets),
            p99: histogramQuantile(0.99, buckets),
        },
    };
}
