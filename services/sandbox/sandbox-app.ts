import express, { type Express } from 'express';
import { z } from 'zod';
import { alertSink } from './alert-sink';
import { PERSONALITIES, type FaultInjector } from './faults';
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
  /** The second Twilio account (personality `twilio-backup`); defaults to the sandbox's own. */
  twilioBackup?: { accountSid: string; authToken: string };
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
const personalityName = z.enum(PERSONALITIES);
const personalitySwitch = z.strictObject({ state: z.enum(['up', 'down']) });

/** The sandbox's second Twilio account unless configured otherwise (the workers' TWILIO_BACKUP_* defaults in dev). */
export const SANDBOX_TWILIO_BACKUP = { accountSid: 'ACsandboxbackup0000000000000000000', authToken: 'sandbox-backup-token' } as const;

/**
 * The sandbox's HTTP side: Twilio API, webhook sink, Alertmanager's webhook receiver, the captured list tests read
 * and the inbox page people read.
 */
export function createSandboxApp(options: SandboxAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const callbacks = options.callbacks ?? new StatusCallbackSender({ accountSid: options.twilioAccountSid, authToken: options.twilioAuthToken });
  app.get('/healthz', (_request, response) => void response.json({ status: 'ok' }));
  const backup = options.twilioBackup ?? SANDBOX_TWILIO_BACKUP;
  const accounts = [
    { personality: 'twilio-primary' as const, accountSid: options.twilioAccountSid, authToken: options.twilioAuthToken },
    { personality: 'twilio-backup' as const, ...backup },
  ];
  app.use(twilioApi({ accounts, store: options.store, faults: options.faults, callbacks }));
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
  // One switch per provider personality: take the primary down and watch the workers fail over to the backup.
  app.get('/faults/providers', (_request, response) => void response.json(options.faults.personalities()));
  app.post('/faults/providers/:name', express.json(), (request, response) => {
    const name = personalityName.safeParse(request.params.name);
    if (!name.success) return void response.status(404).json({ error: 'unknown_provider', details: [{ field: 'name', message: `one of ${PERSONALITIES.join(', ')}` }] });
    const body = personalitySwitch.safeParse(request.body);
    if (!body.success) return void response.status(400).json({ error: 'validation_failed', details: body.error.issues });
    options.faults.setPersonality(name.data, body.data.state);
    const states = options.faults.personalities();
    page.providersChanged(states);
    response.json(states);
  });
  return app;
}
