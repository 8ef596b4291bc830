import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../lib/wait-for';

/**
 * The compose cluster's brokers as the management API of node 1 (`rabbitmq`, published on 127.0.0.1) reports
 * them, logged in as relay-admin with the password `make up` generated (scripts/compose-secrets.sh). Node names are
 * rabbit@<compose service>.
 */
const MANAGEMENT_URL = `http://127.0.0.1:${process.env.RABBITMQ_MANAGEMENT_PORT ?? '29672'}`;
const ROOT = path.resolve(__dirname, path.basename(path.resolve(__dirname, '../..')) === 'dist' ? '../../..' : '../..');

/** Read at each call: the file exists only once the first `make up` ran. */
function authorization(): string {
  const password = fs.readFileSync(path.join(ROOT, '.run/compose/secrets/broker/relay-admin'), 'utf8').trim();
  return `Basic ${Buffer.from(`relay-admin:${password}`).toString('base64')}`;
}

async function management<T>(resource: string): Promise<T> {
  const response = await fetch(`${MANAGEMENT_URL}/api/${resource}`, { headers: { authorization: authorization() }, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /api/${resource}: ${response.status}`);
  return (await response.json()) as T;
}

/** rabbit@rabbitmq-2 -> rabbitmq-2 */
export const serviceOfNode = (node: string): string => node.replace(/^rabbit@/, '');

export interface QuorumQueue { name: string; leader: string; members: string[] }

export async function quorumQueues(): Promise<QuorumQueue[]> {
  const queues = await management<Array<{ name: string; type: string; leader?: string; members?: string[] }>>('queues/relay?columns=name,type,leader,members');
  return queues.filter((q) => q.type === 'quorum').map((q) => ({ name: q.name, leader: q.leader ?? '', members: q.members ?? [] }));
}

/** Waits until `size` nodes run in the cluster and every quorum queue of vhost relay has a member on each. */
export function waitClusterComplete(size: number, timeoutMs: number): Promise<QuorumQueue[]> {
  return waitFor(`${size} running nodes, every quorum queue with ${size} members`, async () => {
    const nodes = await management<Array<{ name: string; running: boolean }>>('nodes?columns=name,running');
    const running = nodes.filter((n) => n.running).map((n) => n.name);
    if (running.length !== size) throw new Error(`running nodes: ${running.join(' ')}`);
    const queues = await quorumQueues();
    const short = queues.filter((q) => q.members.length !== size);
    if (queues.length === 0 || short.length) throw new Error(`quorum queues without ${size} members: ${short.map((q) => `${q.name}(${q.members.length})`).join(' ')}`);
    return queues;
  }, timeoutMs, 2000);
}

/** The nodes a user's AMQP connections are on (the app's: relay-app). */
export async function nodesOfUser(user: string): Promise<string[]> {
  const connections = await management<Array<{ user: string; node: string }>>('connections?columns=user,node');
  return [...new Set(connections.filter((c) => c.user === user).map((c) => c.node))];
}
