// A plain, hand-written end-of-test summary for handleSummary(): no remote jslib import (k6 would have to fetch
// https://jslib.k6.io at run time, which fails on an offline machine or in a locked-down CI). It prints what
// this project cares about: thresholds, the HTTP accept path, and the pipeline after the 202.
//
// handleSummary() receives k6's summary object: `data.metrics` maps a metric (or sub-metric) name to
// `{ type, contains, values, thresholds: { expr: { ok } } }`. The reader below also accepts the newer
// machine-readable layout (`data.results.metrics` as an array of `{ name, values }`) and prints "n/a" for
// anything missing instead of throwing, so a k6 upgrade degrades the text, not the run.

/** @typedef {{ values?: Record<string, number>, thresholds?: Record<string, { ok: boolean }> }} SummaryMetric */
/** @typedef {{ metrics?: Record<string, SummaryMetric>, results?: { metrics?: Array<SummaryMetric & { name: string }> }, state?: { testRunDurationMs?: number } }} SummaryData */

/** @param {SummaryData} data @returns {Record<string, SummaryMetric>} */
function metricMap(data) {
    if (data.metrics && typeof data.metrics === 'object') return data.metrics;
    /** @type {Record<string, SummaryMetric>} */
    const out = {};
    for (const m of (data.results && data.results.metrics) || []) out[m.name] = m;
    return out;
}

/** @param {number | undefined} v @param {number} [digits] */
function num(v, digits = 0) {
    return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** @param {number | undefined} v milliseconds */
function ms(v = NaN) {
    if (!Number.isFinite(v)) return 'n/a';
    return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v.toFixed(1)}ms`;
}

/**
 * @param {SummaryData} data @param {string} title @param {string[]} [extra] more lines (script-specific)
 * @returns {string}
 */
export function renderSummary(data, title, extra = []) {
    const m = metricMap(data);
    /** @param {string} name @param {string} key @returns {number | undefined} */
    const v = (name, key) => (m[name] && m[name].values ? m[name].values[key] : undefined);
    const acc = 'http_req_duration{kind:accept}';
    const failed = v('http_req_failed{kind:accept}', 'rate');
    const apiAccepted = v('api_accepted', 'count');
    const accepted = v('pipeline_accepted', 'count');
    const delivered = v('pipeline_delivered', 'count');
    const dead = v('pipeline_dead_lettered', 'count');
    const lines = [
        '',
        `=== relay-stack ${title} (${num((data.state && data.state.testRunDurationMs || NaN) / 1000, 1)} s) ===`,
        '',
        'HTTP accept (POST -> 202, seen by k6)',
        `  requests ${num(v('http_reqs{kind:accept}', 'count'))} at ${num(v('http_reqs{kind:accept}', 'rate'), 1)}/s,` +
            ` 202: ${num(apiAccepted)}, failed: ${failed === undefined ? 'n/a' : (failed * 100).toFixed(2) + '%'},` +
            ` dropped iterations: ${num(v('dropped_iterations', 'count') || 0)}`,
        `  latency p50 ${ms(v(acc, 'med'))}  p95 ${ms(v(acc, 'p(95)'))}  p99 ${ms(v(acc, 'p(99)'))}  max ${ms(v(acc, 'max'))}`,
        '',
        'Pipeline (from Prometheus, after the drain)',
        `  accepted ${num(accepted)} = delivered ${num(delivered)} + dead-lettered ${num(dead)} ?` +
            ` ${v('pipeline_conserved', 'rate') === 1 ? 'yes' : 'NO'}`,
        `  drained: ${v('pipeline_drained', 'rate') === 1 ? 'yes' : 'NO'} after ${ms(v('pipeline_drain_time', 'max'))}` +
            `, peak backlog ${num(v('pipeline_peak_backlog', 'value'))}`,
        `  delivered/s ${num(v('pipeline_delivered_per_s', 'value'), 1)} (peak ${num(v('pipeline_peak_delivered_per_s', 'value'), 1)})`,
        `  end-to-end p50 ${ms(v('pipeline_e2e_latency{quantile:p50}', 'max'))}  p95 ${ms(v('pipeline_e2e_latency{quantile:p95}', 'max'))}` +
            `  p99 ${ms(v('pipeline_e2e_latency{quantile:p99}', 'max'))}`,
        ...extra,
    ];
    if (apiAccepted !== undefined && accepted !== undefined && accepted < apiAccepted) {
        lines.push(`  WARNING: k6 saw ${apiAccepted} 202s but the app counted ${accepted} confirmed publishes`);
    }
    lines.push('', 'Thresholds');
    let allOk = true;
    for (const name of Object.keys(m).sort()) {
        for (const [expr, t] of Object.entries(m[name].thresholds || {})) {
            allOk = allOk && t.ok;
            if (expr.endsWith('>=0')) continue; // tracking-only threshold (makes k6 keep the sub-metric)
            lines.push(`  ${t.ok ? 'ok  ' : 'FAIL'} ${name}: ${expr}`);
        }
    }
    lines.push('', allOk ? 'RESULT: PASS' : 'RESULT: FAIL (k6 exits with code 99)', '');
    return lines.join('\n');
}
