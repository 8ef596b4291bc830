// Shared configuration of the k6 scripts. Every knob is an environment variable (`k6 run -e NAME=value` or the
// process environment); a bad value fails the run at init with a message naming the variable.
//
// BASE_URL        app HTTP API                     default http://localhost:8080 (compose: http://app:8080)
// API_KEY         sent as `Authorization: Bearer`  default: the contents of API_KEY_FILE
// API_KEY_FILE    file holding the key             default /run/relay/dev-api-key (compose mounts the key
//                 `make up` wrote to .run/compose/dev-api-key there; natively: -e API_KEY=$(cat .run/dev-api-key))
// PROMETHEUS_URL  Prometheus HTTP API              default http://localhost:9090 (compose: http://prometheus:9090)
// MIX             channel weights                  default sms=50,email=30,notif=20
// FAIL_RATIO      share of requests sent to the sandbox's permanent-failure recipients (dead-lettered on
//                 purpose, exercises accepted = delivered + dead-lettered)            default 0
// TESTID          value of the test-wide `testid` tag (a CLI `--tag testid=...` wins) default <script>-<UTC minute>
// DRAIN_TIMEOUT   longest wait for the work queues to drain after the load           default 5m
// DRAIN_STABLE    how long backlog 0 + unchanged counters must hold to call it drained default 30s
//                 (>= 2 Prometheus scrape intervals)
// DRAIN_POLL      Prometheus poll period while waiting                               default 5s
// ACCEPT_P95_MS / ACCEPT_P99_MS  accept-latency thresholds (POST -> 202)             default 250 / 500
// MAX_FAILED_RATE threshold on failed accept requests (non-202)                      default 0.01
// E2E_P99_MS      threshold on end-to-end p99 (accepted -> delivered), 0 = none       default 0
// MIN_DELIVERED_PER_S threshold on end-to-end delivered/s, 0 = none                  default 0

export const CHANNELS = /** @type {const} */ (['sms', 'email', 'notif']);
/** @typedef {typeof CHANNELS[number]} Channel */

/** @param {string} name @param {string} fallback @returns {string} */
export function env(name, fallback) {
    const value = __ENV[name];
    return value === undefined || value.trim() === '' ? fallback : value.trim();
}

/** @param {string} name @param {number} fallback @returns {number} */
export function envNumber(name, fallback) {
    const raw = env(name, String(fallback));
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`config: ${name}=${raw} is not a non-negative number`);
    return n;
}

/** Seconds in a k6-style duration ("90", "90s", "1m30s", "2h", "500ms"). @param {string} name @param {string} fallback */
export function envDuration(name, fallback) {
    const raw = env(name, fallback);
    if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
    const units = /** @type {Record<string, number>} */ ({ ms: 0.001, s: 1, m: 60, h: 3600 });
    let seconds = 0;
    const rest = raw.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_m, n, u) => {
        seconds += Number(n) * units[u];
        return '';
    });
    if (rest !== '' || seconds <= 0) throw new Error(`config: ${name}=${raw} is not a duration like 30s, 5m, 1h30m`);
    return seconds;
}

/** @param {number} seconds @returns {string} a duration k6 accepts */
export function dur(seconds) {
    return `${Math.max(1, Math.round(seconds))}s`;
}

/** Parses `sms=50,email=30,notif=20` into shares that sum to 1. @param {string} raw @returns {Record<Channel, number>} */
export function parseMix(raw) {
    const weights = { sms: 0, email: 0, notif: 0 };
    for (const part of raw.split(',')) {
        const [key, value] = part.split('=').map((s) => s.trim());
        const n = Number(value);
        if (!CHANNELS.includes(/** @type {Channel} */ (key)) || !Number.isFinite(n) || n < 0) {
            throw new Error(`config: MIX entry "${part}" is not <sms|email|notif>=<weight>`);
        }
        weights[/** @type {Channel} */ (key)] = n;
    }
    const total = weights.sms + weights.email + weights.notif;
    if (total <= 0) throw new Error(`config: MIX=${raw} has no positive weight`);
    return { sms: weights.sms / total, email: weights.email / total, notif: weights.notif / total };
}

export const BASE_URL = env('BASE_URL', 'http://localhost:8080').replace(/\/+$/, '');
export const PROMETHEUS_URL = env('PROMETHEUS_URL', 'http://localhost:9090').replace(/\/+$/, '');
export const MIX = parseMix(env('MIX', 'sms=50,email=30,notif=20'));
export const FAIL_RATIO = envNumber('FAIL_RATIO', 0);
export const DRAIN = {
    timeoutS: envDuration('DRAIN_TIMEOUT', '5m'),
    stableS: envDuration('DRAIN_STABLE', '30s'),
    pollS: envDuration('DRAIN_POLL', '5s'),
};

/** Default `testid`: script name plus the UTC minute, e.g. throughput-20250131T1405. @param {string} script */
export function testId(script) {
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '');
    return env('TESTID', `${script}-${stamp}`);
}

/** teardown() waits for the drain: give it the drain budget plus time for the Prometheus queries. */
export function teardownTimeout() {
    return dur(DRAIN.timeoutS + DRAIN.stableS + 120);
}

/**
 * One constant-arrival-rate scenario per channel, named after it, splitting `rate` req/s by MIX.
 * https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/constant-arrival-rate/
 * @param {number} rate total requests per second @param {string} duration
 * @returns {Record<string, import('k6/options').ConstantArrivalRateScenario>}
 */
export function channelScenarios(rate, duration) {
    /** @type {Record<string, import('k6/options').ConstantArrivalRateScenario>} */
    const scenarios = {};
    for (const channel of CHANNELS) {
        const share = Math.round(rate * MIX[channel]);
        if (share < 1) continue;
        scenarios[channel] = {
            executor: 'constant-arrival-rate',
            rate: share,
            timeUnit: '1s',
            duration,
            // ~20 ms per accept normally; allow up to 1 s of accept latency before k6 drops iterations.
            preAllocatedVUs: Math.max(2, Math.ceil(share / 20)),
            maxVUs: Math.max(10, envNumber('MAX_VUS_PER_CHANNEL', share)),
            tags: { channel },
        };
    }
    return scenarios;
}

/**
 * Thresholds on the accept path only: requests tagged kind=accept (k6 also talks to Prometheus in setup/teardown,
 * those are tagged kind=prometheus and must not count).
 * @param {number} p95ms @param {number} p99ms
 * @returns {Record<string, string[]>}
 */
export function acceptThresholds(p95ms, p99ms) {
    return {
        'http_req_failed{kind:accept}': [`rate<${envNumber('MAX_FAILED_RATE', 0.01)}`],
        'http_req_duration{kind:accept}': [`p(95)<${p95ms}`, `p(99)<${p99ms}`],
        'http_reqs{kind:accept}': ['count>0'],
        // An arrival-rate test that could not start its iterations did not offer the load it claims.
        dropped_iterations: ['count==0'],
    };
}

/** Options every script shares: setup waits up to 60 s for leftovers, teardown for the drain. */
export const LIFECYCLE = { setupTimeout: '120s', teardownTimeout: teardownTimeout() };

export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

/** @param {string} path @returns {string} */
function readKey(path) {
    try {
        return open(path).trim();
    } catch (_) {
        return '';
    }
}

/** The API key every request sends (docs/security.md). */
export const API_KEY = env('API_KEY', '') || readKey(env('API_KEY_FILE', '/run/relay/dev-api-key'));
