/**
 * The arithmetic of the k6 scripts' pipeline accounting (loadtest/lib/accounting.js, the module k6 imports) on
 * hand-made Prometheus answers, one case per way a restart shows up in the samples. The same module against a
 * real Prometheus and real restarts: test/loadtest/accounting-restarts.test.ts.
 */
import { accountingQueries, histogramQuantile, tally, type PromSeries, type QueryResults } from '../../loadtest/lib/accounting.js';

const START = 1_800_000_000_000; // ms
const s = (offsetS: number) => (START + offsetS * 1000) / 1000; // Prometheus sample time (s)

/** A series of `name` for one process; `points` are [seconds from START, value]. */
function series(labels: Record<string, string>, points: Array<[number, number]>): PromSeries {
  return { metric: labels, values: points.map(([t, v]) => [s(t), String(v)] as [number, string]) };
}

const app = (instance: string) => ({ job: 'app', instance: '127.0.0.1:8080', app_instance: instance });
const empty: QueryResults = { accepted: [], delivered: [], deadLettered: [], e2eBuckets: [], startTimes: [] };

describe('tally: accepted counts per series, from the raw samples', () => {
  test('a series born in the window counts from 0, including its first sample (increase() would drop it)', () => {
    const r = tally({ ...empty, accepted: [series({ ...app('0'), type: 'sms' }, [[5, 7], [10, 20]])] }, START);
    expect(r.accepted).toBe(20);
    expect(r.resets).toBe(0);
  });

  test('a series that stopped before the window adds nothing, however large its last value', () => {
    const gone = series({ ...app('0'), instance: '10.0.0.5:8080', type: 'sms' }, [[-60, 5000], [-30, 5185]]);
    const born = series({ ...app('0'), instance: '10.0.0.9:8080', type: 'sms' }, [[5, 100], [10, 300]]);
    expect(tally({ ...empty, accepted: [gone, born] }, START).accepted).toBe(300);
  });

  test('a series with a baseline before the window counts from the baseline', () => {
    const r = tally({ ...empty, accepted: [series({ ...app('0'), type: 'sms' }, [[-10, 400], [0, 400], [5, 450], [10, 500]])] }, START);
    expect(r.accepted).toBe(100);
  });

  test('a process restarted with the same labels: a lower value is a reset, counted from 0', () => {
    const r = tally({ ...empty, accepted: [series({ ...app('0'), type: 'sms' }, [[-5, 5185], [5, 40], [10, 90], [15, 20], [20, 60]])] }, START);
    expect(r.accepted).toBe(90 + 60);
    expect(r.resets).toBe(2);
  });

  test('a restarted process whose new count passed the old one is told apart by process_start_time_seconds', () => {
    const labels = { ...app('1'), type: 'email' };
    const counter = series(labels, [[-5, 30], [5, 80], [10, 120]]); // 80 > 30: no decrease to see
    const startTimes = series({ __name__: 'process_start_time_seconds', ...app('1') }, [[-5, 1000], [5, 1700], [10, 1700]]);
    expect(tally({ ...empty, accepted: [counter] }, START).accepted).toBe(90); // without start times: wrong
    expect(tally({ ...empty, accepted: [counter], startTimes: [startTimes] }, START)).toMatchObject({ accepted: 120, resets: 1 });
  });

  test('delivered and dead-lettered are counted the same way, and the e2e quantiles from bucket increases', () => {
    const w = { job: 'sms-worker', instance: '127.0.0.1:9101', type: 'sms' };
    const bucket = (le: string, points: Array<[number, number]>) => series({ ...w, le }, points);
    const r = tally(
      {
        ...empty,
        delivered: [series({ ...w, outcome: 'delivered' }, [[-5, 900], [5, 50], [10, 100]])],
        deadLettered: [series({ ...w, outcome: 'dead_lettered' }, [[10, 3]])],
        e2eBuckets: [bucket('0.1', [[-5, 800], [5, 20], [10, 50]]), bucket('0.5', [[-5, 900], [5, 50], [10, 100]]), bucket('+Inf', [[-5, 900], [5, 50], [10, 100]])],
      },
      START,
    );
    expect(r).toMatchObject({ delivered: 100, deadLettered: 3, e2eCount: 100 });
    expect(r.e2e.p50).toBeCloseTo(0.1);
    expect(r.e2e.p99).toBeCloseTo(0.1 + 0.4 * (99 - 50) / 50);
  });
});

describe('histogramQuantile', () => {
  test('interpolates inside a bucket like PromQL, returns the highest finite bound in +Inf, null when empty', () => {
    const buckets = new Map([[0.1, 50], [0.5, 100], [1, 100], [Infinity, 104]]);
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.1 * (26 / 50));
    expect(histogramQuantile(0.99, buckets)).toBe(1);
    expect(histogramQuantile(0.5, new Map([[0.1, 0], [Infinity, 0]]))).toBeNull();
  });
});

describe('accountingQueries', () => {
  test('asks for raw samples from the lookback before the start to the end, evaluated at the end', () => {
    const queries = accountingQueries(START, START + 60_000);
    expect(queries.accepted).toEqual({ expr: 'messages_published_total{outcome="confirmed"}[960000ms]', atMs: START + 60_000 });
    expect(Object.keys(queries).sort()).toEqual(['accepted', 'deadLettered', 'delivered', 'e2eBuckets', 'startTimes']);
  });
});
