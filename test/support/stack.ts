import { testApiKey } from './api-keys';
import { waitFor } from './wait';

/** Native default ports (docs/contract.md); the tests use them, so `make dev` must not run at the same time. */
export const PORTS = { app: 8080, appOps: 9100, sandbox: 8025, smtp: 2525, sms: 9101, email: 9102, notif: 9103, status: 9104 } as const;
export const APP = `http://127.0.0.1:${PORTS.app}`;
/** The app's ops listener: /metrics (every PM2 instance), /healthz, /readyz. */
export const APP_OPS = `http://127.0.0.1:${PORTS.appOps}`;
export const SANDBOX = `http://127.0.0.1:${PORTS.sandbox}`;

export { httpStatus, waitReady } from '../../tools/lib/http-probe';

export const READY_URLS = {
  app: `${APP}/readyz`,
  sandbox: `${SANDBOX}/healthz`,
  'sms-worker': `http://127.0.0.1:${PORTS.sms}/readyz`,
  'email-worker': `http://127.0.0.1:${PORTS.email}/readyz`,
  'notif-worker': `http://127.0.0.1:${PORTS.notif}/readyz`,
} as const;

/** The status service's readiness (not in READY_URLS: only the tests that start it wait for it). */
export const STATUS_SERVICE_READY_URL = `http://127.0.0.1:${PORTS.status}/readyz`;

/** The Authorization header of the key the test stack accepts (support/api-keys.ts). */
export function authHeader(): Record<string, string> {
  return { authorization: `Bearer ${testApiKey()}` };
}

/** POSTs JSON with the test API key (a header `authorization: ''` sends none). */
export async function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const all: Record<string, string> = { 'content-type': 'application/json', ...authHeader(), ...headers };
  if (all.authorization === '') delete all.authorization;
  const response = await fetch(`${APP}${path}`, {
    method: 'POST',
    headers: all,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export interface SandboxMessage {
  id?: string;
  channel: 'sms' | 'email' | 'notif';
  /** Which provider the sandbox played (`twilio-primary`, `smtp-backup`, ...). */
  personality: string;
  to: string;
  receivedAt: string;
  content: Record<string, unknown>;
}

export async function sandboxMessages(channel?: 'sms' | 'email' | 'notif', sandbox = SANDBOX): Promise<SandboxMessage[]> {
  const response = await fetch(`${sandbox}/messages${channel ? `?channel=${channel}` : ''}`);
  return ((await response.json()) as { messages: SandboxMessage[] }).messages;
}

export async function clearSandbox(): Promise<void> {
  await fetch(`${SANDBOX}/messages`, { method: 'DELETE' });
  await configureFaults({ transientRate: 0, permanentRate: 0, delayMs: 0, rejectCredentials: false });
}

export async function configureFaults(settings: { transientRate?: number; permanentRate?: number; delayMs?: number; rejectCredentials?: boolean }, sandbox = SANDBOX): Promise<void> {
  const response = await fetch(`${sandbox}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  if (!response.ok) throw new Error(`PUT /faults answered ${response.status}`);
}

/** Waits until the sandbox lists a message with this envelope id, and returns it. */
export function waitDelivered(id: string, channel: 'sms' | 'email' | 'notif', timeoutMs = 10_000): Promise<SandboxMessage> {
  return waitFor(`${channel} message ${id} at the sandbox`, async () => (await sandboxMessages(channel)).find((m) => m.id === id), timeoutMs, 50);
}
