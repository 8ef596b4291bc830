/**
 * `make compose-cluster-test`, the part that talks to the running containers (scripts/compose-test.sh cluster
 * starts the engine, builds the images and calls this with COMPOSE naming docker-compose.yml and
 * docker-compose.cluster.yml). It proves the cluster override for real: three brokers form one cluster, every
 * quorum queue gets three members, Prometheus scrapes every node, and with a steady load through the app the
 * broker leading relay.sms is killed and started again, then (when it is another one) the broker the app is
 * connected to, without losing any request answered 202.
 * Env: COMPOSE_CLUSTER_TEST_MESSAGES (3000), COMPOSE_CLUSTER_TEST_RATE (requests/s, 50), COMPOSE_CLUSTER_TEST_DOWN_S
 * (how long each node stays down, 10).
 */
import fs from 'node:fs';
import path from 'node:path';
import { driveLoad, type LoadResult } from '../chaos/load';
import { resetSandbox } from '../chaos/stack-http';
import { waitFor } from '../lib/wait-for';
import { nodesOfUser, quorumQueues, serviceOfNode, waitClusterComplete } from './broker-cluster';
import { containers, ENGINE, health, make, run, waitHealthy } from './compose-cli';
import { waitAllDelivered } from './delivery';
import { waitQuery } from './prometheus';

const ROOT = path.resolve(__dirname, path.basename(path.resolve(__dirname, '../..')) === 'dist' ? '../../..' : '../..');
const NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
const SERVICES = [...NODES, 'app', 'sms-worker', 'email-worker', 'notif-worker', 'sandbox', 'prometheus', 'alertmanager'];
const TOTAL = Number(process.env.COMPOSE_CLUSTER_TEST_MESSAGES ?? 3000);
const RATE = Number(process.env.COMPOSE_CLUSTER_TEST_RATE ?? 50);
const DOWN_S = Number(process.env.COMPOSE_CLUSTER_TEST_DOWN_S ?? 10);
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function step(title: string, body: () => Promise<string>): Promise<void> {
  const started = Date.now();
  process.stdout.write(`compose-cluster-test: ${title} ...\n`);
  const detail = await body();
  process.stdout.write(`compose-cluster-test: ok  ${title}: ${detail} (${seconds(started)} s)\n`);
}

function assertAllAccepted(load: LoadResult): void {
  if (load.accepted.size === TOTAL) return;
  throw new Error(`only ${load.accepted.size} of ${TOTAL} requests accepted: unexpected ${JSON.stringify(Object.fromEntries(load.unexpected))}, `
    + `gave up ${load.gaveUp}, 503s ${load.unavailable503}, network errors ${load.networkErrors}`);
}

/**
 * Kills the broker container of `service` (stop with no grace: SIGKILL at once, marked stopped so the restart
 * policy leaves it down), keeps it down for DOWN_S seconds, starts it again and waits until it is healthy, so the
 * next outage never takes a second node of three.
 */
async function killAndRestart(service: string): Promise<string> {
  const victim = (await containers(service))[0];
  if (!victim) throw new Error(`no running container of ${service}`);
  const killedAt = Date.now();
  await run(ENGINE, ['stop', '--time', '0', victim.id]);
  await sleep(DOWN_S * 1000);
  await run(ENGINE, ['start', victim.id]);
  const downSeconds = seconds(killedAt);
  await waitFor(`${service} healthy again`, async () => ((await health(victim.id)) === 'healthy' ? true : undefined), 120_000, 1000);
  return `${service} down ${downSeconds} s (healthy after ${seconds(killedAt)} s)`;
}

async function main(): Promise<void> {
  const runStarted = Date.now();
  let upSeconds = '';
  let apiKey = '';
  let members = '';
  let outcome = '';

  await step('make up with docker-compose.cluster.yml: three brokers and the stack healthy', async () => {
    const t = Date.now();
    await make('up', { SERVICES: SERVICES.join(' ') });
    const states = await waitHealthy(SERVICES, 300_000);
    upSeconds = seconds(t);
    apiKey = fs.readFileSync(path.join(ROOT, '.run/compose/dev-api-key'), 'utf8').trim();
    return `${states.size} containers healthy ${upSeconds} s after make up`;
  });

  await step('one cluster of three nodes, every quorum queue with three members, every node scraped', async () => {
    const queues = await waitClusterComplete(NODES.length, 180_000);
    const leaders = new Map<string, number>();
    for (const q of queues) leaders.set(serviceOfNode(q.leader), (leaders.get(serviceOfNode(q.leader)) ?? 0) + 1);
    members = `${queues.length} quorum queues x ${NODES.length} members`;
    // Both broker jobs of prometheus.cluster.yml, each with one `up` target per node.
    const scraped: string[] = [];
    for (const job of ['rabbitmq', 'rabbitmq-detailed']) {
      const up = await waitQuery(`up{job="${job}"} == 1`, (s) => s.length === NODES.length, 90_000);
      scraped.push(`${job}: ${up.map((s) => s.metric.instance).sort().join(' ')}`);
    }
    return `${members}; leaders per node ${[...leaders].map(([n, c]) => `${n}=${c}`).join(' ')}; Prometheus up ${scraped.join('; ')}`;
  });

  await step(`${TOTAL} requests at ${RATE}/s; the broker leading relay.sms, then the app's, killed and started again: nothing lost`, async () => {
    await resetSandbox();
    const leader = serviceOfNode((await quorumQueues()).find((q) => q.name === 'relay.sms')!.leader);
    const appNodes = (await nodesOfUser('relay-app')).map(serviceOfNode);
    const victims = [leader, ...appNodes.filter((n) => n !== leader)].slice(0, 2);
    let outages: Promise<string[]> | undefined;
    let loadDone = false;
    const load = await driveLoad({
      apiKey, total: TOTAL, concurrency: 16, ratePerSecond: RATE, flakyShare: 0, permanentShare: 0, retryForMs: 120_000,
      onProgress: (settled) => {
        if (settled !== Math.floor(TOTAL / 10)) return;
        outages = (async () => {
          const done: string[] = [];
          for (const victim of victims) {
            if (loadDone) throw new Error(`the load ended before ${victim} was killed: raise COMPOSE_CLUSTER_TEST_MESSAGES`);
            done.push(await killAndRestart(victim));
          }
          return done;
        })();
        outages.catch(() => undefined); // awaited after the load; this only keeps an early failure from being unhandled
      },
    });
    loadDone = true;
    if (!outages) throw new Error('no broker was killed');
    const downs = await outages;
    assertAllAccepted(load);
    await waitHealthy(SERVICES, 180_000);
    const count = await waitAllDelivered(load.accepted.keys(), 180_000);
    await waitClusterComplete(NODES.length, 120_000);
    const newLeader = serviceOfNode((await quorumQueues()).find((q) => q.name === 'relay.sms')!.leader);
    outcome = `killed ${victims.join(' then ')} (leader of relay.sms; the app was on ${appNodes.join(', ')}), `
      + `accepted ${count.accepted}, delivered ${count.delivered}, duplicates ${count.duplicates}, 503s ${load.unavailable503}, `
      + `network errors ${load.networkErrors}, lost ${count.lost.length}`;
    return `${downs.join('; ')}; relay.sms now led by ${newLeader}, three members again; accepted ${count.accepted}, `
      + `delivered ${count.delivered}, duplicates ${count.duplicates}, 503s retried ${load.unavailable503}, network errors retried ${load.networkErrors}, lost 0`;
  });

  process.stdout.write(`compose-cluster-test: PASS up ${upSeconds} s, nodes ${NODES.length}, ${members}, ${outcome}, total ${seconds(runStarted)} s\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`compose-cluster-test: FAIL ${error.message}\n`);
  process.exitCode = 1;
});
