import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EnvelopeOf } from '../../services/shared/envelope/envelope';
import { CircuitBreaker } from '../../services/shared/failover/circuit-breaker';
import { createFailoverProvider, type RequestOutcome } from '../../services/shared/failover/failover-provider';
import { configuredProviders } from '../../services/shared/failover/providers-config';
import type { Provider } from '../../services/shared/worker/provider';
import { FaultInjector, type Personality } from '../../services/sandbox/faults';
import { MessageStore } from '../../services/sandbox/message-store';
import { createSandboxApp, SANDBOX_TWILIO_BACKUP } from '../../services/sandbox/sandbox-app';
import { twilioProviderList } from '../../services/sms-worker/twilio-provider';

// The failover provider over two real Twilio providers (the twilio SDK through its custom httpClient) against the
// sandbox's HTTP app in this process, whose two Twilio accounts are switched down and up as the tests need.
const store = new MessageStore();
const faults = new FaultInjector();
let server: Server;
let base: string;

beforeAll(async () => {
  const app = createSandboxApp({ store, faults, twilioAccountSid: 'ACprimary', twilioAuthToken: 'primary-token', webhookSecrets: [] });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  store.clear();
  for (const name of ['twilio-primary', 'twilio-backup'] as Personality[]) faults.setPersonality(name, 'up');
  faults.configure({ transientRate: 0, permanentRate: 0, rejectCredentials: false });
});

/** The circuits' clock, moved by hand so that no assertion depends on how fast the machine is. */
let now = 0;

function twoProviders(options: { threshold?: number; openMs?: number; backupToken?: string } = {}) {
  const env = {
    SMS_PROVIDERS: 'primary,backup',
    TWILIO_API_URL: base,
    TWILIO_PRIMARY_ACCOUNT_SID: 'ACprimary',
    TWILIO_PRIMARY_AUTH_TOKEN: 'primary-token',
    TWILIO_BACKUP_ACCOUNT_SID: SANDBOX_TWILIO_BACKUP.accountSid,
    TWILIO_BACKUP_AUTH_TOKEN: options.backupToken ?? SANDBOX_TWILIO_BACKUP.authToken,
  };
  const named = configuredProviders(env, twilioProviderList);
  const circuits = named.map(() => new CircuitBreaker({ failureThreshold: options.threshold ?? 2, openMs: options.openMs ?? 60_000, now: () => now }));
  const requests: Array<[string, RequestOutcome]> = [];
  const provider: Provider<'sms'> = createFailoverProvider(
    'sms',
    named.map(({ name, provider: one }, index) => ({ name, provider: one, circuit: circuits[index] as CircuitBreaker })),
    { credentialsPauseMinMs: 60_000, credentialsPauseMaxMs: 60_000, onRequest: (name, outcome) => requests.push([name, outcome]) },
  );
  return { provider, circuits, requests };
}

let sequence = 0;
const sms = (to = '+14155550100'): EnvelopeOf<'sms'> => ({ id: `failover-${++sequence}`, type: 'sms', acceptedAt: new Date().toISOString(), payload: { to, body: 'hello' } }) as EnvelopeOf<'sms'>;
const context = { requestId: undefined, attempt: 1 };

describe('the failover provider', () => {
  test('sends through the first provider while it works, and its receipt names it', async () => {
    const { provider, requests } = twoProviders();
    const receipt = await provider.send(sms(), context);
    expect(receipt).toMatchObject({ provider: 'twilio-primary', providerMessageId: expect.stringMatching(/^SM/) });
    expect(store.list('sms').map((message) => message.personality)).toEqual(['twilio-primary']);
    expect(requests).toEqual([['twilio-primary', 'delivered']]);
  });

  test('a transient failure moves the message to the next provider at once; the circuit opens and the primary is no longer called', async () => {
    const { provider, circuits, requests } = twoProviders({ threshold: 2 });
    faults.setPersonality('twilio-primary', 'down');
    const receipts = [];
    for (let index = 0; index < 4; index += 1) receipts.push(await provider.send(sms(), context));
    expect(receipts.map((receipt) => receipt.provider)).toEqual(['twilio-backup', 'twilio-backup', 'twilio-backup', 'twilio-backup']);
    expect(circuits[0]?.state).toBe('open');
    expect(requests.filter(([name]) => name === 'twilio-primary')).toEqual([
      ['twilio-primary', 'transient'],
      ['twilio-primary', 'transient'],
    ]);
    expect(store.list('sms').map((message) => message.personality)).toEqual(['twilio-backup', 'twilio-backup', 'twilio-backup', 'twilio-backup']);
  });

  test('after the open time one probe goes to the recovered primary and traffic returns to it', async () => {
    const { provider, circuits } = twoProviders({ threshold: 1, openMs: 1000 });
    faults.setPersonality('twilio-primary', 'down');
    expect((await provider.send(sms(), context)).provider).toBe('twilio-backup');
    faults.setPersonality('twilio-primary', 'up');
    expect((await provider.send(sms(), context)).provider).toBe('twilio-backup'); // still open
    now += 1000;
    expect((await provider.send(sms(), context)).provider).toBe('twilio-primary');
    expect(circuits[0]?.state).toBe('closed');
  });

  test('a permanent refusal (a bad number) ends the attempt: no other provider is tried and no circuit counts it', async () => {
    const { provider, circuits, requests } = twoProviders({ threshold: 1 });
    for (let index = 0; index < 3; index += 1) {
      await expect(provider.send(sms('+15005550001'), context)).rejects.toMatchObject({ failure: { kind: 'permanent' } });
    }
    expect(circuits[0]?.state).toBe('closed');
    expect(requests.map(([name]) => name)).toEqual(['twilio-primary', 'twilio-primary', 'twilio-primary']);
    expect(provider.classify(await provider.send(sms('+15005550001'), context).catch((error: unknown) => error))).toMatchObject({ kind: 'permanent', reason: expect.stringContaining('twilio-primary') });
  });

  test('when every provider is down the attempt fails transiently (the delay queues retry it); nothing is accepted', async () => {
    const { provider, circuits } = twoProviders({ threshold: 1 });
    faults.setPersonality('twilio-primary', 'down');
    faults.setPersonality('twilio-backup', 'down');
    const error = await provider.send(sms(), context).catch((failure: unknown) => failure);
    expect(provider.classify(error)).toMatchObject({ kind: 'transient', reason: expect.stringContaining('twilio-backup') });
    expect(circuits.map((circuit) => circuit.state)).toEqual(['open', 'open']);
    // Both circuits open: no call at all, still transient.
    expect(provider.classify(await provider.send(sms(), context).catch((failure: unknown) => failure))).toMatchObject({ kind: 'transient', reason: expect.stringContaining('circuit open') });
    expect(store.list('sms')).toEqual([]);
  });

  test("a provider refusing our credentials is skipped for a pause without opening its circuit; all refusing hands the worker's pause the decision", async () => {
    const { provider, circuits, requests } = twoProviders({ backupToken: 'wrong' });
    faults.setPersonality('twilio-primary', 'down');
    // The primary fails transiently and the backup refuses our credentials: a retry later, not a pause.
    expect(provider.classify(await provider.send(sms(), context).catch((error: unknown) => error))).toMatchObject({ kind: 'transient' });
    expect(circuits[1]?.state).toBe('closed');
    faults.setPersonality('twilio-primary', 'up');
    expect((await provider.send(sms(), context)).provider).toBe('twilio-primary');

    faults.configure({ rejectCredentials: true });
    expect(provider.classify(await provider.send(sms(), context).catch((error: unknown) => error))).toMatchObject({ kind: 'credentials' });
    expect(circuits.map((circuit) => circuit.state)).toEqual(['closed', 'closed']);
    // Both are now skipped for their pause: no call is made.
    const before = requests.length;
    expect(provider.classify(await provider.send(sms(), context).catch((error: unknown) => error))).toMatchObject({ kind: 'credentials' });
    expect(requests.length).toBe(before);
  });

  test("a lone provider behaves as before failover: its reasons untouched, never skipped, credentials left to the worker's pause", async () => {
    const [only] = configuredProviders({ TWILIO_API_URL: base, TWILIO_ACCOUNT_SID: 'ACprimary', TWILIO_AUTH_TOKEN: 'primary-token' }, twilioProviderList);
    const circuit = new CircuitBreaker({ failureThreshold: Infinity, openMs: 1000, now: () => now });
    const provider = createFailoverProvider('sms', [{ name: 'twilio', provider: only!.provider, circuit }], { credentialsPauseMinMs: 60_000, credentialsPauseMaxMs: 60_000 });
    expect(provider.classify(await provider.send(sms('+15005550001'), context).catch((error: unknown) => error))).toEqual({ kind: 'permanent', reason: 'twilio HTTP 400 code 21211' });
    faults.setPersonality('twilio-primary', 'down');
    for (let index = 0; index < 10; index += 1) {
      expect(provider.classify(await provider.send(sms(), context).catch((error: unknown) => error))).toEqual({ kind: 'transient', reason: 'twilio HTTP 503 code 20503' });
    }
    expect(circuit.state).toBe('closed');
    faults.setPersonality('twilio-primary', 'up');
    faults.configure({ rejectCredentials: true });
    for (let index = 0; index < 2; index += 1) {
      expect(provider.classify(await provider.send(sms(), context).catch((error: unknown) => error))).toMatchObject({ kind: 'credentials', reason: 'twilio HTTP 401 code 20003' });
    }
    faults.configure({ rejectCredentials: false });
    expect(await provider.send(sms(), context)).toMatchObject({ provider: 'twilio' });
  });
});
