/**
 * The seed post's original design, rewritten in TypeScript as the benchmark's baseline: one cluster master that
 * forks BASELINE_INSTANCES app workers (default: CPUs) with `cluster` and three channel workers with
 * `child_process.fork`, relays every message from an app worker to its channel worker with `send`, and restarts
 * whatever dies. GET /baseline/stats on BASELINE_STATS_PORT (default 8099) gathers the channel workers' counters
 * over IPC for the benchmark. See loadtest/baseline/README.md.
 */
import cluster, { type Worker } from 'node:cluster';
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { MessageType } from '../../services/shared/messaging/topology';
import type { ChannelStats, RelayMessage, StatsReply, StatsRequest } from './ipc';

const TYPES: MessageType[] = ['sms', 'email', 'notif'];
const instances = Number.parseInt(process.env.BASELINE_INSTANCES ?? '', 10) || os.availableParallelism();
const statsPort = Number(process.env.BASELINE_STATS_PORT) || 8099;
let stopping = false;

// Channel workers: one per type, restarted when they exit (their in-memory backlog is lost, as in the post).
const channels = new Map<MessageType, ChildProcess>();
function startChannel(type: MessageType): void {
  const child = fork(path.join(__dirname, 'channel-worker.js'), [type], { stdio: 'inherit' });
  child.on('message', onChannelMessage);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`baseline: ${type} worker ${child.pid} exited (${code ?? signal}); restarting`);
    startChannel(type);
  });
  channels.set(type, child);
}

// App workers: restarted on disconnect, as the post does.
cluster.setupPrimary({ exec: path.join(__dirname, 'app-worker.js') });
function startAppWorker(): Worker {
  const worker = cluster.fork();
  worker.on('message', (message: RelayMessage) => {
    if (message?.kind !== 'message') return;
    channels.get(message.envelope.type)?.send(message);
  });
  return worker;
}
cluster.on('disconnect', (worker) => {
  if (stopping) return;
  console.error(`baseline: app worker ${worker.process.pid} disconnected; starting a new one`);
  startAppWorker();
});

// Stats: ask every channel worker, answer with the lot.
let nextRequestId = 1;
const pendingStats = new Map<number, (stats: ChannelStats) => void>();
function onChannelMessage(message: StatsReply): void {
  if (message?.kind !== 'stats') return;
  pendingStats.get(message.requestId)?.(message.stats);
  pendingStats.delete(message.requestId);
}
function askStats(child: ChildProcess): Promise<ChannelStats> {
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingStats.delete(requestId);
      reject(new Error(`channel worker ${child.pid} did not answer stats`));
    }, 5000);
    pendingStats.set(requestId, (stats) => {
      clearTimeout(timer);
      resolve(stats);
    });
    const request: StatsRequest = { kind: 'stats', requestId };
    child.send(request);
  });
}
const statsServer = http.createServer((request, response) => {
  if (request.url !== '/baseline/stats') {
    response.writeHead(404).end();
    return;
  }
  Promise.all([...channels.values()].map(askStats)).then(
    (all) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ appWorkers: Object.keys(cluster.workers ?? {}).length, channels: all }));
    },
    (error: Error) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: error.message }));
    },
  );
});

function stop(): void {
  stopping = true;
  statsServer.close();
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  for (const child of channels.values()) child.kill('SIGTERM');
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

for (const type of TYPES) startChannel(type);
for (let i = 0; i < instances; i += 1) startAppWorker();
statsServer.listen(statsPort, '127.0.0.1', () => console.log(`baseline: ${instances} app workers, stats on :${statsPort}`));
