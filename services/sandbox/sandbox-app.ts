import express, { type Express } from 'express';
import { z } from 'zod';
import { alertSink } from './alert-sink';
import type { FaultInjector } from './faults';
import { inbox } from './inbox';
import type { Channel, MessageStore } from './message-store';
import { StatusCallbackSender } from './status-callbacks';
import { twilioApi } from './twilio-api';
import { statusWebhookReceiver, webhookReceiver, type ReceivedStatusWebhook } from './webhook-receiver';

export interface SandboxAppOptions {
  store: MessageStore;
  faults: FaultInjector;
  twilioAccountSid: string;
  twilioAuthToken: string;
  /** NOTIF_WEBHOOK_SECRET, parsed: one or more `whsec_` secrets. */
  webhookSecrets: readonly string[];
  /** Twilio-style status callbacks for messages that ask for them (default: signed with twilioAuthToken). */
  callbacks?: StatusCallbackSender;
}

const channelQuery = z.enum(['sms', 'email', 'notif']).optional();
const faultSettings = z.strictObject({
  transientRate: z.number().min(0).max(1).optional(),
  permanentRate: z.number().min(0).max(1).optional(),
  delayMs: z.number().int().min(0).max(60_000).optional(),
  rejectCredentials: z.boolean().optional(),
});

/**
 * The sandbox's HTTP side: Twilio API, webhook sink, Alertmanager's webhook receiver, the captured list tests read
 * and the inbox page people read.
 */
export function createSandboxApp(options: SandboxAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const callbacks = options.callbacks ?? new StatusCallbackSender({ accountSid: options.twilioAccountSid, authToken: options.twilioAuthToken });
  app.get('/healthz', (_request, response) => void response.json({ status: 'ok' }));
  app.use(twilioApi({ accountSid: options.twilioAccountSid, authToken: options.twilioAuthToken, store: options.store, faults: options.faults, callbacks }));
  app.use(webhookReceiver({ secrets: options.webhookSecrets, store: options.store, faults: options.faults }));
  const statusWebhooks: ReceivedStatusWebhook[] = [];
  app.use(statusWebhookReceiver(options.webhookSecrets, statusWebhooks));
  app.get('/status-webhooks', (_request, response) => void response.json({ count: statusWebhooks.length, webhooks: statusWebhooks }));
  app.use(alertSink());
  const page = inbox({ store: options.store, faults: options.faults });
  app.use(page.router);

  app.get('/messages', (request, response) => {
    const channel = channelQuery.safeParse(request.query.channel);
    if (!channel.success) return void response.status(400).json({ error: 'validation_failed', details: [{ field: 'channel', message: 'must be sms, email or notif' }] });
    const messages = options.store.list(channel.data as Channel | undefined);
    response.json({ count: messages.length, messages });
  });
  app.delete('/messages', (_request, response) => {
    options.store.clear();
    callbacks.clear();
    statusWebhooks.length = 0;
    response.status(204).end();
  });
  app.get('/status-callbacks', (_request, response) => {
    const sent = callbacks.list();
    response.json({ count: sent.length, callbacks: sent });
  });
  app.get('/faults', (_request, response) => void response.json(options.faults.current()));
  app.put('/faults', express.json(), (request, response) => {
    const settings = faultSettings.safeParse(request.body);
    if (!settings.success) return void response.status(400).json({ error: 'validation_failed', details: settings.error.issues });
    const current = options.faults.configure(settings.data);
    page.faultsChanged(current);
    response.json(current);
  });
  return app;
}
