/**
 * One channel worker of the cluster-IPC baseline (`child_process.fork`ed by the master, argv[2] = sms|email|notif):
 * takes envelopes from `process.on('message')` and delivers them with the same provider code as our workers, at
 * most BASELINE_CONCURRENCY (default 50, like PREFETCH) at a time. No durability and no retries, as in the seed
 * post: a failed send is counted and dropped, and whatever waits in memory dies with the process.
 */
import { createWebhookProvider } from '../../services/notif-worker/webhook-provider';
import { createSmtpProvider } from '../../services/email-worker/smtp-provider';
import { createTwilioProvider } from '../../services/sms-worker/twilio-provider';
import type { Envelope } from '../../services/shared/envelope/envelope';
import type { Provider } from '../../services/shared/worker/provider';
import type { MessageType } from '../../services/shared/messaging/topology';
import { MAX_SAMPLES, type ChannelStats, type RelayMessage, type StatsReply, type StatsRequest } from './ipc';

const type = process.argv[2] as MessageType;
const factories: Record<MessageType, (env: NodeJS.ProcessEnv) => Provider<MessageType>> = {
  sms: (env) => createTwilioProvider(env) as Provider<MessageType>,
  email: (env) => createSmtpProvider(env) as Provider<MessageType>,
  notif: (env) => createWebhookProvider(env) as Provider<MessageType>,
};
const factory = factories[type];
if (!factory || !process.send) {
  console.error(`baseline channel worker: argv[2] must be sms|email|notif and the process must be forked (got "${type}")`);
  process.exit(2);
}
const provider = factory(process.env);
const concurrency = Math.max(1, Number(process.env.BASELINE_CONCURRENCY) || 50);

const waiting: Envelope[] = [];
let head = 0;
let inFlight = 0;
const stats: ChannelStats = { type, pid: process.pid, delivered: 0, failed: 0, inFlight: 0, waiting: 0, samplesMs: [] };

function pump(): void {
  while (inFlight < concurrency && head < waiting.length) {
    const envelope = waiting[head] as Envelope;
    waiting[head] = undefined as never;
    head += 1;
    inFlight += 1;
    provider
      .send(envelope as never, { requestId: undefined, attempt: 1 })
      .then(
        () => {
          stats.delivered += 1;
          if (stats.samplesMs.length < MAX_SAMPLES) stats.samplesMs.push(Math.max(0, Date.now() - Date.parse(envelope.acceptedAt)));
        },
        () => {
          stats.failed += 1;
        },
      )
      .finally(() => {
        inFlight -= 1;
        pump();
      });
  }
  if (head > 10_000 && head * 2 > waiting.length) {
    waiting.splice(0, head);
    head = 0;
  }
}

process.on('message', (message: RelayMessage | StatsRequest) => {
  if (message.kind === 'message') {
    waiting.push(message.envelope);
    pump();
  } else if (message.kind === 'stats') {
    const reply: StatsReply = { kind: 'stats', requestId: message.requestId, stats: { ...stats, inFlight, waiting: waiting.length - head } };
    process.send?.(reply);
  }
});
// The master going away closes the IPC channel: nothing can reach this process any more.
process.on('disconnect', () => process.exit(0));
