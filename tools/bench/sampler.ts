import { processLabel, processTree, readRssKb, readStat } from './processes';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux x86-64 and arm64

export interface SampleReport {
  /** Peak RSS in MB per label (instances of one label summed at each sample) and the peak of the whole. */
  peakRssMb: Record<string, number>;
  /** CPU seconds (utime + stime) per label between the last start() and stop(), and their total (stack only). */
  cpuSeconds: Record<string, number>;
  /** Processes seen per label. */
  processes: Record<string, number>;
}

/**
 * Every 500 ms: the RSS of every process under the given roots (process groups / trees), summed per label. CPU
 * time is read per PID at start, at every sample (for processes that exit early) and at stop.
 */
export class StackSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly peak: Record<string, number> = {};
  private readonly labels = new Map<number, string>();
  private readonly firstTicks = new Map<number, number>();
  private readonly lastTicks = new Map<number, number>();
  private readonly external = new Set<number>();

  /** Roots marked `external` (the sandbox) are sampled and reported but left out of `total`. */
  constructor(private readonly roots: () => Array<{ pid: number; as?: string; external?: boolean }>) {}

  /** Starts a CPU period (peaks are kept across periods). */
  start(): void {
    this.firstTicks.clear();
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
  }

  stop(): SampleReport {
    clearInterval(this.timer);
    this.sample();
    const cpuSeconds: Record<string, number> = {};
    const processes: Record<string, number> = {};
    let totalCpu = 0;
    for (const [pid, label] of this.labels) {
      const external = this.external.has(pid);
      const first = this.firstTicks.get(pid);
      if (first === undefined) continue; // gone before this period started
      const used = ((this.lastTicks.get(pid) ?? first) - first) / TICKS_PER_SECOND;
      cpuSeconds[label] = round((cpuSeconds[label] ?? 0) + used, 2);
      processes[label] = (processes[label] ?? 0) + 1;
      if (!external) totalCpu += used;
    }
    cpuSeconds.total = round(totalCpu, 2);
    const peakRssMb = Object.fromEntries(Object.entries(this.peak).map(([label, kb]) => [label, round(kb / 1024, 1)]));
    return { peakRssMb, cpuSeconds, processes };
  }

  private sample(): void {
    const perLabel: Record<string, number> = {};
    let total = 0;
    for (const root of this.roots()) {
      for (const pid of processTree(root.pid)) {
        let label = this.labels.get(pid);
        if (label === undefined) {
          label = root.as ?? processLabel(pid);
          this.labels.set(pid, label);
          if (root.external) this.external.add(pid);
        }
        const stat = readStat(pid);
        if (stat) {
          if (!this.firstTicks.has(pid)) this.firstTicks.set(pid, stat.cpuTicks);
          this.lastTicks.set(pid, stat.cpuTicks);
        }
        const rss = readRssKb(pid) ?? 0;
        perLabel[label] = (perLabel[label] ?? 0) + rss;
        if (!root.external) total += rss;
      }
    }
    for (const [label, kb] of Object.entries(perLabel)) this.peak[label] = Math.max(this.peak[label] ?? 0, kb);
    this.peak.total = Math.max(this.peak.total ?? 0, total);
  }
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export interface SecondSummary {
  second: number;
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Samples grouped by the whole second they belong to (BENCH_TIMELINE): count, p50, p99 and max per second, in order. */
export function summarizeBySecond(samples: ReadonlyArray<readonly [second: number, value: number]>): SecondSummary[] {
  const groups = new Map<number, number[]>();
  for (const [second, value] of samples) {
    const group = groups.get(second);
    if (group) group.push(value);
    else groups.set(second, [value]);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, values]) => {
      values.sort((a, b) => a - b);
      return { second, count: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: values[values.length - 1] ?? null };
    });
}

/**
 * A quantile from Prometheus histogram buckets (cumulative counts by upper bound, summed over series), with
 * linear interpolation inside the bucket as PromQL's histogram_quantile does.
 */
export function histogramQuantile(buckets: Map<number, number>, q: number): number | null {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) as number;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / Math.max(1, count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
