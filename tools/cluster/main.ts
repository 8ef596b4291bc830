/**
 * `make cluster-test`: the stack (sandbox, app under pm2-runtime with 2 instances, three workers) on the native
 * 3-node cluster (scripts/cluster.sh) under steady load, while the node leading relay.sms and then the node the
 * app is connected to are stopped and brought back. Every id answered 202 must reach the sandbox; exits 1 if not.
 * Env: CLUSTER_MESSAGES (10000), CLUSTER_RATE (requests/s, 100; 0 = as fast as 50 lanes go),
 *      CLUSTER_NODES (127.0.0.1:5674,127.0.0.1:5675,127.0.0.1:5676), CLUSTER_EVENTS (losses | none),
 *      CLUSTER_DOWN_MS (5000: how long each node stays down). The stack gets a load API key of its own.
 * With CLUSTER_EVENTS=none and CLUSTER_NODES=127.0.0.1:5673 it measures the single private node instead
 * (docs/scaling.md).
 */
import { purgeQueues } from '../chaos/broker';
import { waitDrained } from '../chaos/drain';
import { driveLoad } from '../chaos/load';
import { startPm2Stack, type Pm2Stack } from '../chaos/processes';
import { READY_URLS, resetSandbox, sandboxMessages, waitReady } from '../chaos/stack-http';
import { nodeLosses, nodeUrls, type ScenarioStep } from './scenario';

const WORKERS = ['sms-worker', 'email-worker', 'notif-worker'];
let stack: Pm2Stack | undefined;

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number);
}

async function main(): Promise<number> {
  const started = Date.now();
  const messages = Number(process.env.CLUSTER_MESSAGES || 10000);
  const rate = Number(process.env.CLUSTER_RATE ?? 100);
  const nodes = (process.env.CLUSTER_NODES || '127.0.0.1:5674,127.0.0.1:5675,127.0.0.1:5676').split(',');
  const events = process.env.CLUSTER_EVENTS !== 'none';
  const log = (line: string) => console.log(`cluster-test: [${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

  await purgeQueues();
  stack = startPm2Stack(['sandbox', 'app', ...WORKERS], { API_INSTANCES: '2', LOG_LEVEL: 'warn', AMQP_URL: nodeUrls('relay-app', nodes) },
    Object.fromEntries(WORKERS.map((worker) => [worker, { AMQP_URL: nodeUrls(`relay-${worker}`, nodes), LOG_LEVEL: 'info' }])));
  log(`stack: pm2-runtime pid ${stack.pid}, output in ${stack.logFile}; nodes ${nodes.join(' ')}`);
  await waitReady(READY_URLS, 90_000, stack.alive);
  await resetSandbox();

  log(`sending ${messages} requests at ${rate || 'full speed'}/s, 50 in flight, retrying 503s`);
  const loadStart = Date.now();
  const steps: ScenarioStep[] = [];
  const losses = events
    ? (async () => {
        await new Promise((resolve) => setTimeout(resolve, 8000));
        await nodeLosses(started, Number(process.env.CLUSTER_DOWN_MS || 5000), (step) => {
          steps.push(step);
          log(step.what);
        });
      })()
    : Promise.resolve();
  // Settled into a value now, so a failed step is reported after the load instead of as an unhandled rejection.
  const lossesDone = losses.then(() => ({ at: Date.now() }), (error: Error) => ({ at: Date.now(), error }));
  const load = await driveLoad({ apiKey: stack.apiKey, total: messages, concurrency: 50, flakyShare: 0, permanentShare: 0, retryForMs: 120_000, ratePerSecond: rate || undefined });
  const loadEnd = Date.now();
  log(`load done: ${load.accepted.size} accepted, ${load.unavailable503} answers 503, ${load.networkErrors} network errors`);
  const lossesEnd = await lossesDone;
  if ('error' in lossesEnd) throw new Error(`a node-loss step failed: ${lossesEnd.error.message}`);
  if (events && lossesEnd.at > loadEnd) log('note: the node losses outlasted the load');

  const drain = await waitDrained(5000, 180_000);
  log(`${drain.drained ? 'drained' : 'NOT drained'} after ${drain.waitedMs} ms`);
  const received = await sandboxMessages();
  const delivered = new Set(received.map((message) => message.id).filter((id): id is string => id !== undefined));
  const lost = [...load.accepted.keys()].filter((id) => !delivered.has(id));
  const acceptedTimes = [...load.accepted.values()].map((message) => message.acceptedAt).sort((a, b) => a - b);
  let longestGap = 0;
  acceptedTimes.reduce((previous, at) => ((longestGap = Math.max(longestGap, at - previous)), at), loadStart);
  const lastDelivery = Math.max(...received.map((message) => Date.parse(message.receivedAt)));
  const latencies = [...load.acceptLatenciesMs].sort((a, b) => a - b);

  const summary = {
    accepted: load.accepted.size,
    delivered: delivered.size,
    /** Ids at the sandbox that no 202 answered: publishes cut by a node loss (an ambiguous 503), retried under a new id. */
    deliveredWithout202: [...delivered].filter((id) => !load.accepted.has(id)).length,
    duplicates: received.filter((message) => message.id).length - delivered.size,
    '503s': load.unavailable503,
    networkErrors: load.networkErrors,
    gaveUp: load.gaveUp,
    unexpected: Object.fromEntries(load.unexpected),
    longestWithout202S: Number((longestGap / 1000).toFixed(1)),
    acceptedPerS: Math.round(load.accepted.size / ((loadEnd - loadStart) / 1000)),
    deliveredPerS: Math.round(delivered.size / ((lastDelivery - loadStart) / 1000)),
    acceptP50Ms: percentile(latencies, 50),
    acceptP99Ms: percentile(latencies, 99),
    lost: lost.length,
    elapsedS: Number(((Date.now() - started) / 1000).toFixed(1)),
  };
  console.log(JSON.stringify({ nodes: nodes.length, events: steps.map((step) => `${(step.atMs / 1000).toFixed(1)}s ${step.what}`), ...summary }));
  for (const id of lost.slice(0, 10)) log(`lost ${id}: ${JSON.stringify(load.accepted.get(id))}`);
  console.log(
    `cluster-test: accepted ${summary.accepted}, delivered ${summary.delivered} (${summary.deliveredWithout202} without a 202), duplicates ${summary.duplicates}, 503s ${summary['503s']}, ` +
      `longest without a 202 ${summary.longestWithout202S} s, lost ${summary.lost}`,
  );
  const failed = lost.length > 0 || load.gaveUp > 0 || load.unexpected.size > 0;
  return failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stack) process.kill(-stack.pid, 'SIGKILL');
    process.exit(130);
  });
}

main()
  .then(async (code) => {
    await stack?.stop();
    process.exit(code);
  })
  .catch(async (error: Error) => {
    console.error(`cluster-test: run failed: ${error.stack ?? error.message}`);
    await stack?.stop().catch(() => undefined);
    process.exit(2);
  });
