// Throughput: a constant offered load (RATE req/s for DURATION, split over sms/email/notif by MIX, one
// constant-arrival-rate scenario per channel) against the app, then, in teardown(), waits for the queues to
// drain and reads from Prometheus what the pipeline did: accepted, delivered, dead-lettered, delivered/s and
// end-to-end p50/p95/p99 (accepted by the API -> delivered by the worker).
// Fails (exit 99) when: >MAX_FAILED_RATE of POSTs are not 202, accept p95/p99 exceed ACCEPT_P95_MS/ACCEPT_P99_MS,
// k6 dropped iterations, the backlog did not drain within DRAIN_TIMEOUT, or accepted != delivered + dead-lettered.
//
// Env: RATE (200), DURATION (1m), MIX, FAIL_RATIO, BASE_URL, PROMETHEUS_URL, API_KEY, TESTID, DRAIN_TIMEOUT,
// DRAIN_STABLE, DRAIN_POLL, ACCEPT_P95_MS (250), ACCEPT_P99_MS (500), MAX_FAILED_RATE, E2E_P99_MS, MIN_DELIVERED_PER_S,
// MAX_VUS_PER_CHANNEL (see lib/config.js). Results to Prometheus: `-o experimental-prometheus-rw` with
// K6_PROMETHEUS_RW_SERVER_URL=http://prometheus:9090/api/v1/write (docs/loadtest.md). API_KEY set: every POST
// carries `Authorization: Bearer <API_KEY>`. The counts are exact across restarts of any process before or
// during the run (lib/accounting.js).
import exec from 'k6/execution';
import * as cfg from './lib/config.js';
import { begin, finish, pipelineThresholds } from './lib/pipeline.js';
import { checkReady, send } from './lib/requests.js';
import { renderSummary } from './lib/summary.js';

const RATE = cfg.envNumber('RATE', 200);
const DURATION = cfg.env('DURATION', '1m');

/** @type {import('k6/options').Options} */
export const options = {
    scenarios: cfg.channelScenarios(RATE, DURATION),
    thresholds: {
        ...cfg.acceptThresholds(cfg.envNumber('ACCEPT_P95_MS', 250), cfg.envNumber('ACCEPT_P99_MS', 500)),
        ...pipelineThresholds({
            e2eP99Ms: cfg.envNumber('E2E_P99_MS', 0),
            minDeliveredPerSec: cfg.envNumber('MIN_DELIVERED_PER_S', 0),
        }),
    },
    // Test-wide tag: every sample, hence every remote-written series, carries testid (Grafana's filter).
    tags: { testid: cfg.testId('throughput') },
    summaryTrendStats: cfg.SUMMARY_TREND_STATS,
    ...cfg.LIFECYCLE,
};

export function setup() {
    checkReady();
    const testid = String((exec.test.options.tags || {}).testid || 'none');
    return begin(testid, cfg.DRAIN);
}

// Each scenario is named after its channel.
export default function () {
    send(/** @type {cfg.Channel} */ (exec.scenario.name));
}

/** @param {import('./lib/pipeline.js').SetupData} data */
export function teardown(data) {
    finish(data, cfg.DRAIN);
}

/** @param {import('./lib/summary.js').SummaryData} data */
export function handleSummary(data) {
    return { stdout: renderSummary(data, `throughput: ${RATE} req/s for ${DURATION}, mix ${JSON.stringify(cfg.MIX)}`) };
}
