// Soak helpers: compare a window early in the run (after a warm-up) with the last window of the load, both read
// from Prometheus, to see whether memory or backlog creep. Per job (app, sms-worker, email-worker, notif-worker):
// the app's PM2 instances (label app_instance) and scaled worker replicas are summed into one figure per job.
import { promScalar, promVector, Q } from './pipeline.js';

const JOBS = 'app|sms-worker|email-worker|notif-worker';

/**
 * @param {number} startedAt @param {number} loadEnd ms
 * @param {number} windowS window length @param {number} warmupS skipped at the start (JIT, pools, caches)
 */
export function compareWindows(startedAt, loadEnd, windowS, warmupS) {
    // Short runs (DURATION=5m for a try-out): shrink so that warm-up + two windows still fit.
    const totalS = (loadEnd - startedAt) / 1000;
    const win = Math.max(1, Math.round(Math.min(windowS, totalS / 4)));
    const firstEnd = startedAt + (Math.min(warmupS, totalS / 4) + win) * 1000;
    const memExpr = `sum by (job) (avg_over_time(process_resident_memory_bytes{job=~"${JOBS}"}[${win}s]))`;
    const first = promVector(memExpr, firstEnd);
    const last = promVector(memExpr, loadEnd);
    const memory = first.map((f) => {
        const l = last.find((s) => s.metric.job === f.metric.job);
        const a = Number(f.value[1]);
        const b = l ? Number(l.value[1]) : NaN;
        return { job: f.metric.job, firstMiB: a / 2 ** 20, lastMiB: b / 2 ** 20, ratio: b / a };
    });
    const backlogExpr = `avg_over_time(${Q.backlog}[${win}s:5s])`;
    const backlog = { first: promScalar(backlogExpr, 0, firstEnd), last: promScalar(backlogExpr, 0, loadEnd) };
    return { windowS: win, memory, backlog };
}
