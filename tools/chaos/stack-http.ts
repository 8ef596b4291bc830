import path from 'node:path';

/** The repository root, from the sources (tools/chaos) or from the build (dist/tools/chaos). */
export const ROOT = ((dir: string) => (path.basename(dir) === 'dist' ? path.dirname(dir) : dir))(path.resolve(__dirname, '../..'));

/** Native default ports (docs/architecture.md); the sandbox and app URLs are overridable by env. */
export const APP_URL = process.env.CHAOS_APP_URL ?? 'http://127.0.0.1:8080';
export const SANDBOX_URL = process.env.CHAOS_SANDBOX_URL ?? 'http://127.0.0.1:8025';
export const READY_URLS = [
  `${APP_URL}/readyz`,
  `${SANDBOX_URL}/healthz`,
  'http://127.0.0.1:9101/readyz',
  'http://127.0.0.1:9102/readyz',
  'http://127.0.0.1:9103/readyz',
];

export type Channel = 'sms' | 'email' | 'notif';

export { httpStatus, sleep, waitReady } from '../lib/http-probe';

export interface SandboxMessage {
  id?: string;
  channel: Channel;
  to: string;
  receivedAt: string;
}

/** Everything the sandbox received, all channels, duplicates included. */
export async function sandboxMessages(): Promise<SandboxMessage[]> {
  const response = await fetch(`${SANDBOX_URL}/messages`, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET /messages answered ${response.status}`);
  return ((await response.json()) as { messages: SandboxMessage[] }).messages;
}

export async function sandboxCount(): Promise<number> {
  const response = await fetch(`${SANDBOX_URL}/messages`, { signal: AbortSignal.timeout(30_000) });
  return ((await response.json()) as { count: number }).count;
}

export interface Faults {
  transientRate?: number;
  permanentRate?: number;
  delayMs?: number;
}

export async function setFaults(faults: Faults): Promise<void> {
  const response = await fetch(`${SANDBOX_URL}/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!response.ok) throw new Error(`PUT /faults answered ${response.status}`);
}

/** Forgets what the sandbox received and turns its faults off. */
export async function resetSandbox(): Promise<void> {
  const response = await fetch(`${SANDBOX_URL}/messages`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`DELETE /messages answered ${response.status}`);
  await setFaults({ transientRate: 0, permanentRate: 0, delayMs: 0 });
}
