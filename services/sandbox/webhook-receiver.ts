import express, { type Router } from 'express';
import { verifyWebhook, WEBHOOK_HEADERS } from '../shared/webhook/signature';
import type { FaultInjector, Personality } from './faults';
import type { MessageStore } from './message-store';

export interface WebhookReceiverOptions {
  /** The receiver's `whsec_` secrets: a request is accepted when it carries a valid signature for any of them. */
  secrets: readonly string[];
  store: MessageStore;
  faults: FaultInjector;
}

/** The receiver's paths, one per personality (the backup stands for a second receiver of the same events). */
export const WEBHOOK_PATHS: Readonly<Record<string, Personality>> = { '/webhooks/notifications': 'webhook-primary', '/webhooks/notifications-backup': 'webhook-backup' };

/** A receiver that does what docs/webhooks.md asks of real ones: verify the signature on the raw body first. */
export function webhookReceiver(options: WebhookReceiverOptions): Router {
  const router = express.Router();
  router.post(Object.keys(WEBHOOK_PATHS), express.raw({ type: '*/*', limit: '256kb' }), async (request, response) => {
    const personality = WEBHOOK_PATHS[request.path] as Personality;
    await options.faults.pause();
    if (options.faults.isDown(personality)) return void response.status(503).json({ error: 'service_unavailable' });
    const rawBody = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
    const verdict = verifyWebhook(
      options.secrets,
      { id: request.header(WEBHOOK_HEADERS.id), timestamp: request.header(WEBHOOK_HEADERS.timestamp), signature: request.header(WEBHOOK_HEADERS.signature) },
      rawBody,
    );
    if (options.faults.rejectCredentials) return void response.status(401).json({ error: 'invalid_credentials' });
    if (!verdict.ok) return void response.status(401).json({ error: 'invalid_signature', reason: verdict.reason });
    let notification: { id?: unknown; recipient?: unknown; title?: unknown; body?: unknown; data?: unknown };
    try {
      notification = JSON.parse(rawBody) as typeof notification;
    } catch {
      return void response.status(400).json({ error: 'invalid_json' });
    }
    const id = typeof notification.id === 'string' ? notification.id : undefined;
    const recipient = typeof notification.recipient === 'string' ? notification.recipient : '';
    const decision = options.faults.decide('notif', recipient, id ?? rawBody);
    if (decision === 'permanent') return void response.status(400).json({ error: 'rejected_recipient' });
    if (decision === 'transient') return void response.status(503).json({ error: 'try_again' });
    options.store.add({ id, channel: 'notif', personality, to: recipient, content: { title: notification.title, body: notification.body, data: notification.data } });
    response.status(200).json({ received: true });
  });
  return router;
}

/** A status webhook the sandbox received and verified (`GET /status-webhooks`). */
export interface ReceivedStatusWebhook {
  webhookId: string;
  receivedAt: string;
  body: unknown;
}

const MAX_STATUS_WEBHOOKS = 1000;

/**
 * `POST /webhooks/status`: the sink for client status webhooks in dev and the demo (a key made with
 * `STATUS_WEBHOOK_URL=http://127.0.0.1:8025/webhooks/status` is signed with the sandbox's secret). It verifies the
 * Standard Webhooks signature as docs/webhooks.md asks, then keeps the change for `GET /status-webhooks`.
 */
export function statusWebhookReceiver(secrets: readonly string[], received: ReceivedStatusWebhook[]): Router {
  const router = express.Router();
  router.post('/webhooks/status', express.raw({ type: '*/*', limit: '64kb' }), (request, response) => {
    const rawBody = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
    const webhookId = request.header(WEBHOOK_HEADERS.id);
    const verdict = verifyWebhook(secrets, { id: webhookId, timestamp: request.header(WEBHOOK_HEADERS.timestamp), signature: request.header(WEBHOOK_HEADERS.signature) }, rawBody);
    if (!verdict.ok || !webhookId) return void response.status(401).json({ error: 'invalid_signature', reason: verdict.ok ? 'missing webhook-id' : verdict.reason });
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      return void response.status(400).json({ error: 'invalid_json' });
    }
    received.push({ webhookId, receivedAt: new Date().toISOString(), body });
    if (received.length > MAX_STATUS_WEBHOOKS) received.shift();
    response.status(204).end();
  });
  return router;
}
