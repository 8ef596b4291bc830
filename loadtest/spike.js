// Spike: a sudden burst. BASE_RATE req/s, a jump to PEAK_RATE within RAMP, held for SPIKE_HOLD, back to
// BASE_RATE (one ramping-arrival-rate scenario, channel per request picked by MIX). Measures whether the API
// keeps accepting during the burst (failed POSTs, accept p99) and, in teardown(), from Prometheus: the peak
// backlog, the recovery time (end of the burst -> backlog back at or below RECOVERED_BACKLOG while the base load
// goes on), that the queues drain after the load, and that nothing was lost (accepted = delivered + dead-lettered).
//
// Env: BASE_RATE (20), PEAK_RATE (1000), BEFORE (30s), RAMP (5s), SPIKE_HOLD (30s), AFTER (1m), MAX_VUS (1000),
// SPIKE_P95_MS (1000), SPIKE_P99_MS (2000), RECOVERED_BACKLOG (max(50, BASE_RATE)), MAX_RECOVERY (2m), plus
// MIX, FAIL_RATIO, BASE_URL, PROMETHEUS_URL, API_KEY, TESTID, DRAIN_*, MAX_FAILED_RATE, E2E_P99_MS (lib/config.js).
// API_KEY set: every POST carries `Authorization: Bearer <API_KEY>`. The counts are exact across restarts of
// any process before or during the run (lib/accounting.js).
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import * as cfg from './lib/config.js';
import { backlogBelowAt, begin, finish, pipelineThresholds } from './lib/pipeline.js';
import { checkReady, pickChannel, send } from './lib/requests.js';
import { renderSummary } from './lib/summary.js';

const BASE = cfg.envNumber('BASE_RATE', 20);
const PEAK = cfg.envNumber('PEAK_RATE', 1000);
const RAMP = cfg.env('RAMP', '5s');
const [BEFORE, HOLD] = [cfg.env('BEFORE', '30s'), cfg.env('SPIKE_HOLD', '30s')];
const spikeEndS = cfg.envDuration('BEFORE', BEFORE) + 2 * cfg.envDuration('RAMP', RAMP) + cfg.envDuration('SPIKE_HOLD', HOLD);
const recovery = new Trend('spike_recovery_time', true);

/** @type {import('k6/options').Options} */
export const options = {
    scenarios: {
        spike: {
            executor: 'ramping-arrival-rate',
            startRate: BASE,
            timeUnit: '1s',
            preAllocatedVUs: Math.max(10, Math.ceil(PEAK / 20)),
            maxVUs: cfg.envNumber('MAX_VUS', Math.max(50, PEAK)),
            stages: [
                { duration: BEFORE, target: BASE },
                { duration: RAMP, target: PEAK },
                { duration: HOLD, target: PEAK },
                { duration: RAMP, target: BASE },
                { duration: cfg.env('AFTER', '1m'), target: BASE },
            ],
        },
    },
    thresholds: {
        ...cfg.acceptThresholds(cfg.envNumber('SPIKE_P95_MS', 1000), cfg.envNumber('SPIKE_P99_MS', 2000)),
        ...pipelineThresholds({
            e2eP99Ms: cfg.envNumber('E2E_P99_MS', 0),
        }),
        spike_recovery_time: [`max<${cfg.envDuration('MAX_RECOVERY', '2m') * 1000}`],
    },
    tags: { testid: cfg.testId('spike') },
    summaryTrendStats: cfg.SUMMARY_TREND_STATS,
    ...cfg.LIFECYCLE,
};

export function setup() {
    checkReady();
    return begin(String((exec.test.options.tags || {}).testid || 'none'), cfg.DRAIN);
}

export default function () {
    send(pickChannel(cfg.MIX));
}

/** @param {import('./lib/pipeline.js').SetupData} data */
export function teardown(data) {
    const loadEnd = Date.now();
    const r = finish(data, cfg.DRAIN);
    const spikeEnd = data.startedAt + spikeEndS * 1000;
    const at = backlogBelowAt(spikeEnd, loadEnd, cfg.envNumber('RECOVERED_BACKLOG', Math.max(50, BASE)));
    // Not recovered while the load ran: recovered when drained; never drained: at least until now (past the
    // drain timeout, so the threshold fails along with pipeline_drained).
    const recoveredAt = at !== null ? at : r && r.drained ? r.drainedAt : Date.now();
    recovery.add(Math.max(0, recoveredAt - spikeEnd));
}

/** @param {import('./lib/summary.js').SummaryData} data */
export function handleSummary(data) {
    const rec = data.metrics && data.metrics.spike_recovery_time && data.metrics.spike_recovery_time.values;
    const line = `  recovery after the burst: ${rec ? (rec.max / 1000).toFixed(1) + ' s' : 'n/a'}`;
    return { stdout: renderSummary(data, `spike: ${BASE} -> ${PEAK} -> ${BASE} req/s`, [line]) };
}
