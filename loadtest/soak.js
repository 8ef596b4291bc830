// Soak: a steady, moderate load for a long time (RATE req/s for DURATION, one constant-arrival-rate scenario per
// channel, split by MIX). Measures whether the stack stays flat: resident memory per job (app, each worker) and
// the queue backlog in the last SOAK_WINDOW of the load compared with a window right after SOAK_WARMUP (both
// from Prometheus), then drains and checks accepted = delivered + dead-lettered like throughput.js.
// Fails when a job's memory grew more than MEM_GROWTH_MAX times, the backlog grew by more than
// BACKLOG_GROWTH_MAX messages, or any throughput.js threshold fails.
//
// Env: RATE (50), DURATION (30m), SOAK_WINDOW (5m), SOAK_WARMUP (5m), MEM_GROWTH_MAX (1.5),
// BACKLOG_GROWTH_MAX (max(200, 5 x RATE)), ACCEPT_P95_MS (250), ACCEPT_P99_MS (500), plus MIX, FAIL_RATIO,
// BASE_URL, PROMETHEUS_URL, API_KEY, TESTID, DRAIN_*, MAX_FAILED_RATE, E2E_P99_MS (lib/config.js).
// API_KEY set: every POST carries `Authorization: Bearer <API_KEY>`. The counts are exact across restarts of
// any process before or during the run (lib/accounting.js).
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
import * as cfg from './lib/config.js';
import { begin, finish, pipelineThresholds } from './lib/pipeline.js';
import { checkReady, send } from './lib/requests.js';
import { compareWindows } from './lib/soak.js';
import { renderSummary } from './lib/summary.js';

const RATE = cfg.envNumber('RATE', 50);
const DURATION = cfg.env('DURATION', '30m');
const memoryGrowth = new Trend('soak_memory_growth'); // last / first window, one sample per job (tag job)
const backlogGrowth = new Trend('soak_backlog_growth'); // messages, last - first window

/** @type {import('k6/options').Options} */
export const options = {
    scenarios: cfg.channelScenarios(RATE, DURATION),
    thresholds: {
        ...cfg.acceptThresholds(cfg.envNumber('ACCEPT_P95_MS', 250), cfg.envNumber('ACCEPT_P99_MS', 500)),
        ...pipelineThresholds({ e2eP99Ms: cfg.envNumber('E2E_P99_MS', 0) }),
        soak_memory_growth: [`max<${cfg.envNumber('MEM_GROWTH_MAX', 1.5)}`],
        soak_backlog_growth: [`max<${cfg.envNumber('BACKLOG_GROWTH_MAX', Math.max(200, 5 * RATE))}`],
    },
    tags: { testid: cfg.testId('soak') },
    summaryTrendStats: cfg.SUMMARY_TREND_STATS,
    ...cfg.LIFECYCLE,
};

export function setup() {
    checkReady();
    return begin(String((exec.test.options.tags || {}).testid || 'none'), cfg.DRAIN);
}

export default function () {
    send(/** @type {cfg.Channel} */ (exec.scenario.name));
}

/** @param {import('./lib/pipeline.js').SetupData} data */
export function teardown(data) {
    const w = compareWindows(data.startedAt, Date.now(), cfg.envDuration('SOAK_WINDOW', '5m'), cfg.envDuration('SOAK_WARMUP', '5m'));
    if (w.memory.length === 0) console.error('soak: no process_resident_memory_bytes for app/workers in Prometheus');
    if (w.memory.length === 0) memoryGrowth.add(1e9, { job: 'none' }); // cannot tell = fail, not a silent pass
    for (const m of w.memory) {
        memoryGrowth.add(Number.isFinite(m.ratio) ? m.ratio : 1e9, { job: m.job }); // job gone at the end: fail
        console.log(`soak: ${m.job} RSS ${m.firstMiB.toFixed(0)} -> ${m.lastMiB.toFixed(0)} MiB (x${m.ratio.toFixed(2)})`);
    }
    backlogGrowth.add(w.backlog.last - w.backlog.first);
    console.log(`soak: backlog ${w.backlog.first.toFixed(0)} -> ${w.backlog.last.toFixed(0)} (${w.windowS}s windows)`);
    finish(data, cfg.DRAIN);
}

/** @param {import('./lib/summary.js').SummaryData} data */
export function handleSummary(data) {
    const m = data.metrics || {};
    const mem = m.soak_memory_growth && m.soak_memory_growth.values;
    const bl = m.soak_backlog_growth && m.soak_backlog_growth.values;
    const lines = [`  soak: worst memory growth x${mem ? mem.max.toFixed(2) : 'n/a'}, backlog growth ${bl ? bl.max.toFixed(0) : 'n/a'}`];
    return { stdout: renderSummary(data, `soak: ${RATE} req/s for ${DURATION}`, lines) };
}
