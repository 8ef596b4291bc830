import express, { type Router } from 'express';
import { z } from 'zod';

/**
 * The sandbox standing in for the receiver Alertmanager notifies (alertmanager/alertmanager*.yml; a real stack
 * routes to PagerDuty, Slack or e-mail instead, docs/observability.md#alertmanager). It keeps every webhook payload
 * Alertmanager POSTs, in arrival order, so people and tests can see what would have paged someone.
 * Payload (version 4): https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */

/** The fields of the v4 payload the sandbox relies on; every other field is kept as sent. */
const alertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: z.looseObject({ alertname: z.string() }),
  annotations: z.record(z.string(), z.string()).optional(),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
});
const payloadSchema = z.looseObject({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupLabels: z.record(z.string(), z.string()).optional(),
  alerts: z.array(alertSchema),
});

export type AlertNotification = z.infer<typeof payloadSchema> & { receivedAt: string };

/** Older notifications are dropped beyond this many, so a flapping alert cannot grow the sandbox without bound. */
const MAX_KEPT = 1000;

/** `POST /webhooks/alerts` (Alertmanager's webhook receiver), `GET /alerts` (what arrived), `DELETE /alerts`. */
export function alertSink(): Router {
  const notifications: AlertNotification[] = [];
  const router = express.Router();
  router.post('/webhooks/alerts', express.json({ limit: '1mb' }), (request, response) => {
    const payload = payloadSchema.safeParse(request.body);
    if (!payload.success) return void response.status(400).json({ error: 'validation_failed', details: payload.error.issues });
    notifications.push({ ...payload.data, receivedAt: new Date().toISOString() });
    if (notifications.length > MAX_KEPT) notifications.splice(0, notifications.length - MAX_KEPT);
    response.status(200).json({ received: true });
  });
  router.get('/alerts', (_request, response) => void response.json({ count: notifications.length, notifications }));
  router.delete('/alerts', (_request, response) => {
    notifications.length = 0;
    response.status(204).end();
  });
  return router;
}
