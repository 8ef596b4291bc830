import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { AggregatorRegistry, type Registry } from 'prom-client';

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * One scrape of any PM2 cluster instance returns every instance's series. PM2's master is PM2 itself, so
 * prom-client's cluster aggregator (which needs our code in the master) does not apply; instead each instance
 * serves its registry as JSON on a unix socket in a shared folder, and the instance that answers /metrics
 * collects them all. Series stay apart by the `app_instance` label each registry carries, so nothing is summed
 * across instances: PromQL's sum(rate(...)) stays right when one instance restarts.
 */
export class ClusterMetrics {
  private server: http.Server | undefined;
  private readonly socketPath: string;
  private readonly instancePrefix: string;

  constructor(private readonly registry: Registry, private readonly socketDir: string, instanceId: string) {
    // The pid keeps apart the old and the new process of one instance id during a `pm2 reload`: the old one's
    // stop() must not remove the new one's socket.
    this.instancePrefix = `instance-${instanceId}-`;
    this.socketPath = path.join(socketDir, `${this.instancePrefix}${process.pid}.sock`);
  }

  async start(): Promise<void> {
    await fs.mkdir(this.socketDir, { recursive: true });
    // This instance id's previous process (crashed, or draining during a reload) stops being scraped: two
    // processes with the same app_instance label would have their series added together.
    for (const name of await fs.readdir(this.socketDir).catch(() => [] as string[])) {
      if (name.startsWith(this.instancePrefix) && name.endsWith('.sock')) await fs.rm(path.join(this.socketDir, name), { force: true });
    }
    this.server = http.createServer((_request, response) => {
      this.registry
        .getMetricsAsJSON()
        .then((json) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json)))
        .catch(() => response.writeHead(500).end());
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.socketPath, resolve);
    });
  }

  async stop(): Promise<void> {
    this.server?.close();
    await fs.rm(this.socketPath, { force: true });
  }

  /** Prometheus text for all live instances; a dead instance's stale socket is skipped. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const own = await this.registry.getMetricsAsJSON();
    const peers = (await fs.readdir(this.socketDir).catch(() => []))
      .filter((name) => name.endsWith('.sock'))
      .map((name) => path.join(this.socketDir, name))
      .filter((socket) => socket !== this.socketPath);
    const peerMetrics = await Promise.all(peers.map((socket) => fetchPeer(socket)));
    const all = [own, ...peerMetrics.filter((m): m is MetricsJson => m !== undefined)];
    // Labels are disjoint per instance, so "sum" merges series without adding any two together; it also keeps
    // metrics whose default aggregator is "omit" (process_start_time_seconds).
    const merged = AggregatorRegistry.aggregate(all.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'sum' as const }))));
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}

function fetchPeer(socketPath: string): Promise<MetricsJson | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/', timeout: 1000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as MetricsJson);
        } catch {
          resolve(undefined);
        }
      });
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}
