import fs from 'node:fs';
import { ALL_QUEUES, DEAD_QUEUES, brokerCtl, peekQueues, purgeQueues, type PeekedMessage } from './broker';
import { waitDrained, type DrainState } from './drain';
import { driveLoad, type AcceptedMessage, type LoadResult } from './load';
import { startPm2Stack, type Pm2Stack } from './processes';
import { READY_URLS, resetSandbox, sandboxMessages, setFaults, sleep, waitReady, type Faults } from './stack-http';

export interface ChaosOptions {
  messages: number;
  concurrency: number;
  faults: Faults;
  flakyShare: number;
  permanentShare: number;
  /** Progress (0..1 of the requests settled) at which the sms-worker is SIGKILLed; none when undefined. */
  killWorkerAt?: number;
  /** Progress at which the broker is restarted (`scripts/broker.sh restart`, data kept); none when undefined. */
  restartBrokerAt?: number;
  drainTimeoutMs: number;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<ChaosOptions, 'messages' | 'log'> = {
  concurrency: 50,
  faults: { transientRate: 0.05, permanentRate: 0.01 },
  flakyShare: 0.02,
  permanentShare: 0.005,
  killWorkerAt: 0.3,
  restartBrokerAt: 0.6,
  drainTimeoutMs: 180_000,
};

export interface ChaosEvent {
  atMs: number;
  settled: number;
  what: string;
}

export interface LostMessage extends AcceptedMessage {
  /** Queues where a copy still sits (should be none after the drain), and log lines that name the id. */
  inQueues: string[];
  logLines: string[];
}

export interface ChaosResult {
  accepted: number;
  delivered: number;
  duplicates: number;
  /** Deliveries beyond the first per id, by channel. */
  duplicatesByChannel: Record<string, number>;
  deadLettered: number;
  /** Messages (not ids) read from the dead-letter queues and left there for `make replay-dead`. */
  deadLetterMessages: number;
  lost: number;
  /** Ids the sandbox received or the dead-letter queues hold that no 202 answered (ambiguous timeouts). */
  unacknowledged: number;
  deadReasons: Record<string, number>;
  load: Omit<LoadResult, 'accepted'>;
  events: ChaosEvent[];
  drain: DrainState;
  lostSample: LostMessage[];
  startedAt: number;
  elapsedMs: number;
  logFile: string;
}

let running: Pm2Stack | undefined;

/** For signal handlers: kill the stack's process group right away. */
export function killStackNow(): void {
  if (running) process.kill(-running.pid, 'SIGKILL');
}

/**
 * The chaos scenario: the native stack under one pm2-runtime, thousands of requests against provider faults and
 * magic recipients, a worker SIGKILLed and the broker restarted mid-stream; then every accepted id is looked for
 * at the sandbox and in the dead-letter queues. Stops everything it started; leaves the broker running.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const { log } = options;
  const events: ChaosEvent[] = [];
  const pending: Array<Promise<void>> = [];
  let brokerRestarted = false;
  await purgeQueues();
  const stack = startPm2Stack(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker'], { API_INSTANCES: '2', RETRY_DELAYS: '1s,1s,5s', LOG_LEVEL: 'warn' }, {
    'sms-worker': { LOG_LEVEL: 'info' },
    'email-worker': { LOG_LEVEL: 'info' },
    'notif-worker': { LOG_LEVEL: 'info' },
  });
  running = stack;
  log(`stack: pm2-runtime pid ${stack.pid}, output in ${stack.logFile}`);
  try {
    await waitReady(READY_URLS, 90_000, stack.alive);
    await resetSandbox();
    await setFaults(options.faults);
    log(`faults ${JSON.stringify(options.faults)}; sending ${options.messages} requests, ${options.concurrency} in flight`);

    const record = (settled: number, what: string) => {
      events.push({ atMs: Date.now() - started, settled, what });
      log(`[${((Date.now() - started) / 1000).toFixed(1)}s, ${settled} settled] ${what}`);
    };
    const killAt = options.killWorkerAt === undefined ? Infinity : Math.max(1, Math.floor(options.messages * options.killWorkerAt));
    const restartAt = options.restartBrokerAt === undefined ? Infinity : Math.max(1, Math.floor(options.messages * options.restartBrokerAt));
    let step = Math.max(1, Math.floor(options.messages / 10));
    const load = await driveLoad({
      apiKey: stack.apiKey,
      total: options.messages,
      concurrency: options.concurrency,
      flakyShare: options.flakyShare,
      permanentShare: options.permanentShare,
      retryForMs: 120_000,
      onProgress: (settled) => {
        if (settled % step === 0) record(settled, 'progress');
        if (settled === killAt) pending.push(killWorker(stack, (what) => record(settled, what)));
        if (settled === restartAt) {
          brokerRestarted = true;
          record(settled, 'restarting the broker (scripts/broker.sh stop, then resume: data kept)');
          pending.push(restartBroker((what) => record(settled, what)));
        }
      },
    });
    step = Infinity;
    await Promise.all(pending);
    record(options.messages, `load done: ${load.accepted.size} accepted, ${load.unavailable503} answers 503${window503(load, started)}, ${load.networkErrors} network errors`);

    await setFaults({ transientRate: 0, permanentRate: 0, delayMs: 0 });
    const drain = await waitDrained(5000, options.drainTimeoutMs);
    record(options.messages, `${drain.drained ? 'drained' : 'NOT drained'} after ${drain.waitedMs} ms: ${JSON.stringify(drain.last)}`);
    return await collect(load, events, drain, stack, started);
  } finally {
    await stack.stop();
    running = undefined;
    if (brokerRestarted) await brokerCtl('resume').catch((error: Error) => log(`broker resume failed: ${error.message}`));
  }
}

async function restartBroker(record: (what: string) => void): Promise<void> {
  await brokerCtl('stop');
  record('broker stopped');
  await brokerCtl('resume');
  record('broker resumed');
}

/** SIGKILLs the sms-worker's node process mid-stream; PM2 starts a new one. */
async function killWorker(stack: Pm2Stack, record: (what: string) => void): Promise<void> {
  const [pid] = stack.servicePids('sms-worker');
  if (pid === undefined) return record('sms-worker process not found; nothing killed');
  process.kill(pid, 'SIGKILL');
  record(`SIGKILLed sms-worker pid ${pid}`);
  for (let waited = 0; waited < 30_000; waited += 200) {
    const [successor] = stack.servicePids('sms-worker').filter((other) => other !== pid);
    if (successor !== undefined) return record(`PM2 restarted sms-worker as pid ${successor}`);
    await sleep(200);
  }
  record('sms-worker not restarted within 30 s');
}

async function collect(load: LoadResult, events: ChaosEvent[], drain: DrainState, stack: Pm2Stack, started: number): Promise<ChaosResult> {
  const received = await sandboxMessages();
  const deliveredIds = new Set<string>();
  let withId = 0;
  const duplicatesByChannel: Record<string, number> = { sms: 0, email: 0, notif: 0 };
  for (const message of received) {
    if (!message.id) continue;
    withId += 1;
    if (deliveredIds.has(message.id)) duplicatesByChannel[message.channel] = (duplicatesByChannel[message.channel] ?? 0) + 1;
    deliveredIds.add(message.id);
  }
  const dead = await peekQueues(DEAD_QUEUES);
  const deadIds = new Set(dead.flatMap((message) => message.ids));
  const deadReasons: Record<string, number> = {};
  for (const message of dead) {
    const reason = String(message.headers['x-dead-reason'] ?? 'none (broker dead-lettered it)');
    deadReasons[reason] = (deadReasons[reason] ?? 0) + 1;
  }
  const lost = [...load.accepted.values()].filter((message) => !deliveredIds.has(message.id) && !deadIds.has(message.id));
  const lostSample = lost.length > 0 ? await describeLost(lost.slice(0, 10), stack.logFile) : [];
  const known = new Set([...deliveredIds, ...deadIds]);
  const { accepted, ...loadRest } = load;
  return {
    accepted: accepted.size,
    delivered: deliveredIds.size,
    duplicates: withId - deliveredIds.size,
    duplicatesByChannel,
    deadLettered: deadIds.size,
    deadLetterMessages: dead.length,
    lost: lost.length,
    unacknowledged: [...known].filter((id) => !accepted.has(id)).length,
    deadReasons,
    load: loadRest,
    events,
    drain,
    lostSample,
    startedAt: started,
    elapsedMs: Date.now() - started,
    logFile: stack.logFile,
  };
}

async function describeLost(sample: AcceptedMessage[], logFile: string): Promise<LostMessage[]> {
  const queued: PeekedMessage[] = await peekQueues(ALL_QUEUES.filter((queue) => !DEAD_QUEUES.includes(queue))).catch(() => []);
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n') : [];
  return sample.map((message) => ({
    ...message,
    inQueues: queued.filter((copy) => copy.ids.includes(message.id)).map((copy) => copy.queue),
    logLines: log.filter((line) => line.includes(message.id)).slice(0, 5).map((line) => line.slice(0, 400)),
  }));
}

function window503(load: LoadResult, started: number): string {
  if (load.first503At === undefined || load.last503At === undefined) return '';
  return ` (from ${((load.first503At - started) / 1000).toFixed(1)} s to ${((load.last503At - started) / 1000).toFixed(1)} s)`;
}
