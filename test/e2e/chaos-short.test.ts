import { DEFAULT_OPTIONS, runChaos, type ChaosResult } from '../../tools/chaos/run';
import { formatResult } from '../../tools/chaos/report';
import { brokerCtl, queueDepth } from '../support/broker';

// `make chaos` in small: the native stack under pm2-runtime (2 API instances, RETRY_DELAYS=1s,1s,5s), provider
// faults and magic recipients, the sms-worker SIGKILLed and the broker restarted while requests flow.
let result: ChaosResult;
const lines: string[] = [];

beforeAll(async () => {
  result = await runChaos({
    ...DEFAULT_OPTIONS,
    messages: Number(process.env.CHAOS_SHORT_MESSAGES ?? 1500),
    killWorkerAt: 0.2,
    restartBrokerAt: 0.4,
    drainTimeoutMs: 60_000,
    log: (line) => lines.push(line),
  });
  // Printed so a failure can be debugged from the CI log alone.
  console.log(`${lines.join('\n')}\n${formatResult(result)}`);
}, 170_000);

afterAll(async () => {
  // runChaos resumes the broker itself; this only matters if it was interrupted.
  await brokerCtl('resume');
}, 180_000);

describe('with a worker killed and the broker restarted mid-stream', () => {
  test('the worker was killed, PM2 replaced it, and the broker went down and came back', () => {
    const events = result.events.map((event) => event.what).join('\n');
    expect(events).toMatch(/SIGKILLed sms-worker pid \d+/);
    expect(events).toMatch(/PM2 restarted sms-worker as pid \d+/);
    expect(events).toMatch(/broker stopped[\s\S]*broker resumed/);
  });

  test('no accepted message is lost', () => {
    expect(result.accepted).toBeGreaterThan(1000);
    expect(result.lostSample).toEqual([]);
    expect(result.lost).toBe(0);
  });

  test('every accepted message is delivered or dead-lettered, and the queues drained', () => {
    expect(result.drain.drained).toBe(true);
    expect(result.delivered + result.deadLettered).toBeGreaterThanOrEqual(result.accepted);
  });

  test('dead letters carry their reason and are left in place for replay', async () => {
    expect(result.deadLettered).toBeGreaterThan(0);
    expect(Object.keys(result.deadReasons).every((reason) => ['permanent', 'attempts_exhausted'].includes(reason))).toBe(true);
    let left = 0;
    for (const queue of ['relay.sms.dead', 'relay.email.dead', 'relay.notif.dead']) left += await queueDepth(queue);
    expect(left).toBe(result.deadLetterMessages);
  });
});
