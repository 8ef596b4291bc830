// What happened after the 202: reads Prometheus' HTTP API (GET $PROMETHEUS_URL/api/v1/query) to wait until the
// work queues have drained, then measures accepted / delivered / dead-lettered and end-to-end latency over the
// test window. Metric names are the contract in docs/architecture.md; app and worker series carry `app_instance`
// (and scaled workers an `instance`), so the drain queries aggregate with sum().
//
// The counts come from lib/accounting.js (pure, shared with the Node test that proves it): per series, from the
// raw samples, evaluated once at the end, so they stay exact across restarts of any process (or of Prometheus)
// before or during the test. Not `sum(x)` at the end minus at the start (the start value can hold series of
// processes that are gone but still in Prometheus' lookback) and not increase() (extrapolates, and ignores the
// first sample of a series born in the window). accounting.js explains the method and its limits.
import http from 'k6/http';
import { sleep } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import { PROMETHEUS_URL } from './config.js';
import { accountingQueries, COUNTERS, tally } from './accounting.js';

// Custom metrics, init scope. Emitted once, from teardown(): k6 keeps setup/teardown samples (since v0.22) and
// evaluates thresholds one last time after teardown, before handleSummary(), so thresholds on them do decide
// the exit code. See docs/loadtest.md.
export const metrics = {
    accepted: new Counter('pipeline_accepted'),
    delivered: new Counter('pipeline_delivered'),
    deadLettered: new Counter('pipeline_dead_lettered'),
    conserved: new Rate('pipeline_conserved'),
    drained: new Rate('pipeline_drained'),
    drainTime: new Trend('pipeline_drain_time', true),
    e2e: new Trend('pipeline_e2e_latency', true),
    deliveredPerSec: new Gauge('pipeline_delivered_per_s'),
    peakDeliveredPerSec: new Gauge('pipeline_peak_delivered_per_s'),
    peakBacklog: new Gauge('pipeline_peak_backlog'),
};

// Work queues and retry tiers: a message waiting in relay.retry.* is neither delivered nor dead yet.
const QUEUES = 'relay[.](sms|email|notif)|relay[.]retry[.].+';
export const Q = {
    backlog: `sum(rabbitmq_detailed_queue_messages{queue=~"${QUEUES}"})`,
    inFlight: 'sum(messages_in_flight)',
    accepted: `sum(${COUNTERS.accepted})`,
    delivered: `sum(${COUNTERS.delivered})`,
    deadLettered: `sum(${COUNTERS.deadLettered})`,
    processed: 'sum(messages_processed_total)',
};

/** @typedef {{ metric: Record<string, string>, value: [number, string] }} PromSample */
/** @typedef {{ status: string, error?: string, data?: { resultType: string, result: PromSample[] } }} PromResponse */
/** @typedef {{ status: string, data?: { result: Array<{ values: Array<[number, string]> }> } }} PromRangeResponse */
/** @typedef {{ status: string, data?: { result: import('./accounting.js').PromSeries[] } }} PromMatrixResponse */
/** @typedef {{ startedAt: number, testid: string }} SetupData */

/**
 * Instant query (GET /api/v1/query); returns `data.result`.
 * @param {string} expr @param {number | undefined} atMs evaluation time, default now @returns {unknown}
 */
function promQuery(expr, atMs) {
    let url = `${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(expr)}`;
    if (atMs !== undefined) url += `&time=${(atMs / 1000).toFixed(3)}`;
    const res = http.get(url, { tags: { kind: 'prometheus', name: 'prometheus-query' }, timeout: '30s' });
    const body = /** @type {PromResponse | PromMatrixResponse | undefined} */ (res.status === 200 ? res.json() : undefined);
    if (!body || body.status !== 'success' || !body.data) {
        throw new Error(`prometheus query failed (HTTP ${res.status} ${res.error || ''}): ${expr}`);
    }
    return body.data.result;
}

/**
 * Instant query; returns the vector (empty when no series match).
 * @param {string} expr @param {number} [atMs] evaluation time, default now @returns {PromSample[]}
 */
export function promVector(expr, atMs) {
    return /** @type {PromSample[]} */ (promQuery(expr, atMs));
}

/**
 * Instant query reduced to one number: the sum of the vector; `empty` when no series (or NaN, e.g. a quantile
 * of nothing).
 * @template {number | null} E @param {string} expr @param {E} empty @param {number} [atMs] @returns {number | E}
 */
export function promScalar(expr, empty, atMs) {
    const result = promVector(expr, atMs);
    if (result.length === 0) return empty;
    const sum = result.reduce((acc, s) => acc + Number(s.value[1]), 0);
    return Number.isFinite(sum) ? sum : empty;
}

/**
 * Range query over [startMs, endMs], summed over series: [[ms, value], ...]. (GET /api/v1/query_range)
 * @param {string} expr @param {number} startMs @param {number} endMs @param {number} stepS
 * @returns {Array<[number, number]>}
 */
export function promRange(expr, startMs, endMs, stepS) {
    const url =
        `${PROMETHEUS_URL}/api/v1/query_range?query=${encodeURIComponent(expr)}` +
        `&start=${(startMs / 1000).toFixed(3)}&end=${(endMs / 1000).toFixed(3)}&step=${stepS}`;
    const res = http.get(url, { tags: { kind: 'prometheus', name: 'prometheus-query-range' }, timeout: '15s' });
    const body = /** @type {PromRangeResponse | undefined} */ (res.status === 200 ? res.json() : undefined);
    if (!body || body.status !== 'success' || !body.data) {
        throw new Error(`prometheus range query failed (HTTP ${res.status} ${res.error || ''}): ${expr}`);
    }
    /** @type {Map<number, number>} */
    const sums = new Map();
    for (const series of body.data.result) {
        for (const [t, v] of series.values) sums.set(t * 1000, (sums.get(t * 1000) || 0) + Number(v));
    }
    return [...sums.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * First time in [fromMs, toMs] at which the backlog was at or below `level`, or null.
 * @param {number} fromMs @param {number} toMs @param {number} level @returns {number | null}
 */
export function backlogBelowAt(fromMs, toMs, level) {
    const point = promRange(Q.backlog, fromMs, toMs, 5).find(([, v]) => v <= level);
    return point ? point[0] : null;
}

/**
 * Polls until backlog (work + retry queues) and workers' in-flight are 0 and the processed/accepted counters
 * have not moved for `stableS` seconds, or `timeoutS` passes. `drainedAt` is the first poll of that quiet run:
 * when the backlog was last seen emptied (+- one poll and scrape interval).
 * @param {{ timeoutS: number, stableS: number, pollS: number }} opts
 * @returns {{ drained: boolean, drainedAt: number, backlog: number }}
 */
export function waitForDrain(opts) {
    const t0 = Date.now();
    /** @type {{ at: number, processed: number, accepted: number } | null} */
    let quiet = null;
    let backlog = NaN;
    let lastLog = 0;
    while (Date.now() - t0 < opts.timeoutS * 1000) {
        const now = Date.now();
        backlog = promScalar(Q.backlog, 0);
        const idle = backlog === 0 && promScalar(Q.inFlight, 0) === 0;
        const processed = promScalar(Q.processed, 0);
        const accepted = promScalar(Q.accepted, 0);
        if (!idle) {
            quiet = null;
        } else if (!quiet || quiet.processed !== processed || quiet.accepted !== accepted) {
            quiet = { at: now, processed, accepted };
        } else if (now - quiet.at >= opts.stableS * 1000) {
            return { drained: true, drainedAt: quiet.at, backlog };
        }
        if (now - lastLog >= 30000) {
            console.log(`pipeline: waiting for drain, backlog=${backlog} processed=${processed}`);
            lastLog = now;
        }
        sleep(opts.pollS);
    }
    return { drained: false, drainedAt: Date.now(), backlog };
}

/**
 * Everything the pipeline did between `startedAt` and `endAt` (both ms): the counts and end-to-end quantiles from
 * lib/accounting.js (every query evaluated at endAt), the peaks from PromQL (rate() and a gauge: restarts only
 * blur them).
 * @param {number} startedAt @param {number} endAt
 */
export function measure(startedAt, endAt) {
    const queries = accountingQueries(startedAt, endAt);
    const results = /** @type {import('./accounting.js').QueryResults} */ ({});
    for (const name of /** @type {Array<import('./accounting.js').QueryName>} */ (Object.keys(queries))) {
        results[name] = /** @type {import('./accounting.js').PromSeries[]} */ (promQuery(queries[name].expr, queries[name].atMs));
    }
    const t = tally(results, startedAt);
    const w = `${Math.max(1, Math.ceil((endAt - startedAt) / 1000))}s`;
    return {
        accepted: t.accepted,
        delivered: t.delivered,
        deadLettered: t.deadLettered,
        resets: t.resets,
        e2e: t.e2e,
        peakDeliveredPerSec: promScalar(
            `max_over_time(sum(rate(messages_processed_total{outcome="delivered"}[1m]))[${w}:15s])`, 0, endAt),
        peakBacklog: promScalar(`max_over_time(${Q.backlog}[${w}:5s])`, 0, endAt),
    };
}

/**
 * setup() helper: checks Prometheus answers, waits briefly for leftovers of an earlier run to drain (they would
 * be counted as delivered without having been accepted in this window), then marks the start of the window.
 * @param {string} testid @param {{ timeoutS: number, stableS: number, pollS: number }} drain @returns {SetupData}
 */
export function begin(testid, drain) {
    promScalar('sum(up)', 0);
    const idle = waitForDrain({ timeoutS: 60, stableS: Math.min(drain.stableS, 10), pollS: drain.pollS });
    if (!idle.drained) console.warn(`pipeline: backlog ${idle.backlog} before the test; counts may include it`);
    return { startedAt: Date.now(), testid };
}

/**
 * teardown() helper: waits for the drain, measures, records the custom metrics and logs a summary line.
 * @param {SetupData} data @param {{ timeoutS: number, stableS: number, pollS: number }} drain
 */
export function finish(data, drain) {
    const loadEndedAt = Date.now();
    let result;
    try {
        const d = waitForDrain(drain);
        const m = measure(data.startedAt, Date.now());
        result = { ...m, ...d, drainSeconds: Math.max(0, (d.drainedAt - loadEndedAt) / 1000) };
    } catch (e) {
        // No samples would also fail the Rate thresholds (empty Rate = 0), but say why.
        console.error(`pipeline: cannot measure the pipeline: ${e}`);
        metrics.conserved.add(0, { reason: 'prometheus_error' });
        metrics.drained.add(0);
        return null;
    }
    const r = result;
    // Counter resets (restarted processes) are accounted for; they are logged, not a failure by themselves.
    const conserved = r.accepted > 0 && r.accepted === r.delivered + r.deadLettered;
    const elapsed = Math.max(1, (r.drainedAt - data.startedAt) / 1000);
    metrics.accepted.add(r.accepted);
    metrics.delivered.add(r.delivered);
    metrics.deadLettered.add(r.deadLettered);
    metrics.conserved.add(conserved ? 1 : 0);
    metrics.drained.add(r.drained ? 1 : 0);
    metrics.drainTime.add(r.drainSeconds * 1000);
    metrics.deliveredPerSec.add(r.delivered / elapsed);
    metrics.peakDeliveredPerSec.add(r.peakDeliveredPerSec);
    metrics.peakBacklog.add(r.peakBacklog);
    for (const [quantile, v] of Object.entries(r.e2e)) if (v !== null) metrics.e2e.add(v * 1000, { quantile });
    console.log(
        `pipeline [testid=${data.testid}]: accepted=${r.accepted} delivered=${r.delivered} ` +
            `dead_lettered=${r.deadLettered} resets=${r.resets} drained=${r.drained} in ${r.drainSeconds.toFixed(1)}s ` +
            `delivered/s=${(r.delivered / elapsed).toFixed(1)} e2e p50/p95/p99 (s)=${r.e2e.p50}/${r.e2e.p95}/${r.e2e.p99}`,
    );
    if (!conserved) {
        console.error(
            `pipeline: accepted (${r.accepted}) != delivered (${r.delivered}) + dead-lettered (${r.deadLettered})` +
                (r.resets > 0
                    ? `; ${r.resets} counter reset(s): a process restarted, and what it counted after its last scrape is missing`
                    : ''),
        );
    }
    return r;
}

/**
 * Thresholds on the teardown metrics. A threshold on a sub-metric (`{quantile:p99}`) makes k6 track it.
 * @param {{ e2eP99Ms?: number, minDeliveredPerSec?: number, maxDrainSeconds?: number }} [opts]
 * @returns {Record<string, string[]>}
 */
export function pipelineThresholds(opts = {}) {
    /** @type {Record<string, string[]>} */
    const t = {
        pipeline_conserved: ['rate==1'], // accepted == delivered + dead-lettered, accepted > 0
        pipeline_drained: ['rate==1'], // backlog back to 0 within DRAIN_TIMEOUT
    };
    // `max>=0` always passes: it only makes k6 track the sub-metric for the summary (k6 docs' workaround).
    t['pipeline_e2e_latency{quantile:p50}'] = ['max>=0'];
    t['pipeline_e2e_latency{quantile:p95}'] = ['max>=0'];
    t['pipeline_e2e_latency{quantile:p99}'] = [opts.e2eP99Ms ? `max<${opts.e2eP99Ms}` : 'max>=0'];
    if (opts.minDeliveredPerSec) t.pipeline_delivered_per_s = [`value>=${opts.minDeliveredPerSec}`];
    if (opts.maxDrainSeconds) t.pipeline_drain_time = [`max<${opts.maxDrainSeconds * 1000}`];
    return t;
}
