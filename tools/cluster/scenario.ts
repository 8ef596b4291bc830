import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, sleep } from '../chaos/stack-http';
import { localBrokerUrl } from '../lib/local-broker';

const run = promisify(execFile);

/** `scripts/cluster.sh <args>`: its stdout, trimmed. */
export async function clusterCtl(...args: string[]): Promise<string> {
  const { stdout } = await run(path.join(ROOT, 'scripts/cluster.sh'), args, { timeout: 240_000 });
  return stdout.trim();
}

/** AMQP_URL for `user` on the given nodes, with its generated password (tools/lib/local-broker.ts). */
export function nodeUrls(user: string, nodes: string[]): string {
  return localBrokerUrl(user, nodes);
}

export interface ScenarioStep {
  atMs: number;
  what: string;
}

/**
 * The node losses of `make cluster-test`, one at a time (two of three down would leave no quorum majority, and
 * every quorum queue would stop accepting until one came back): stop the node that leads relay.sms, bring it
 * back; then stop the node the app's first instance is connected to (after the first loss: another one), bring it back.
 */
export async function nodeLosses(started: number, downMs: number, record: (step: ScenarioStep) => void): Promise<void> {
  const note = (what: string) => record({ atMs: Date.now() - started, what });
  const leader = await clusterCtl('leader', 'relay.sms');
  note(`relay.sms is led by node ${leader}; stopping it`);
  await clusterCtl('stop-node', leader);
  note(`node ${leader} stopped (new relay.sms leader: node ${await clusterCtl('leader', 'relay.sms').catch(() => '?')})`);
  await sleep(downMs);
  await clusterCtl('resume-node', leader);
  note(`node ${leader} back`);
  await sleep(downMs);
  const appNode = await clusterCtl('node-of-connection', 'app-0');
  if (!appNode) throw new Error('no connection named app-0 on the cluster');
  note(`the app (instance 0) is connected to node ${appNode}; stopping it`);
  await clusterCtl('stop-node', appNode);
  note(`node ${appNode} stopped; the app now uses node ${await waitAppNode(appNode)}`);
  await sleep(downMs);
  await clusterCtl('resume-node', appNode);
  note(`node ${appNode} back`);
}

async function waitAppNode(lost: string): Promise<string> {
  for (let waited = 0; waited < 30_000; waited += 500) {
    const node = await clusterCtl('node-of-connection', 'app-0').catch(() => '');
    if (node && node !== lost) return node;
    await sleep(500);
  }
  return 'none within 30 s';
}
