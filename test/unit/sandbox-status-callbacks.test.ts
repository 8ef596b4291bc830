import twilio from 'twilio';
import { callbackPlan, StatusCallbackSender } from '../../services/sandbox/status-callbacks';
import { startHttpServer } from '../support/local-servers';
import { waitFor } from '../support/wait';

// The sandbox's callback sender against a real HTTP receiver that checks each request with the twilio SDK's own
// validator, as a Twilio customer's server does.
const TOKEN = 'callback-test-token';
const SID = `SM${'d'.repeat(32)}`;

interface Seen {
  valid: boolean;
  form: Record<string, string>;
}

async function receiver(answer: (count: number) => number) {
  const seen: Seen[] = [];
  const server = await startHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const url = `${server.url}${request.url}`;
      seen.push({ valid: twilio.validateRequest(TOKEN, String(request.headers['x-twilio-signature']), url, form), form });
      response.writeHead(answer(seen.length)).end();
    });
  });
  return { seen, server };
}

let sender: StatusCallbackSender | undefined;
afterEach(() => sender?.stop());

test('a message gets sent then delivered, signed as Twilio signs, with the fields Twilio sends', async () => {
  const { seen, server } = await receiver(() => 204);
  sender = new StatusCallbackSender({ accountSid: 'ACtest', authToken: TOKEN, stepDelayMs: 1 });
  sender.schedule({ sid: SID, from: '+15005550006', to: '+14155550100', callbackUrl: `${server.url}/cb?relay_id=m-1` });
  await waitFor('two callbacks', async () => (seen.length === 2 ? true : undefined));
  await server.close();
  expect(seen.map((request) => [request.valid, request.form.MessageStatus])).toEqual([[true, 'sent'], [true, 'delivered']]);
  expect(seen[0]?.form).toEqual({ AccountSid: 'ACtest', ApiVersion: '2010-04-01', From: '+15005550006', MessageSid: SID, MessageStatus: 'sent', SmsSid: SID, SmsStatus: 'sent', To: '+14155550100' });
});

test('a callback not answered 2xx is retried, and given up after the last retry', async () => {
  const { seen, server } = await receiver(() => 500);
  sender = new StatusCallbackSender({ accountSid: 'ACtest', authToken: TOKEN, stepDelayMs: 1, retryDelaysMs: [1, 1] });
  sender.schedule({ sid: SID, from: '+15005550006', to: '+14155550100', callbackUrl: `${server.url}/cb` });
  await waitFor('both steps given up', async () => (sender!.list().filter((record) => record.outcome === 'gave_up').length === 2 ? true : undefined));
  await server.close();
  expect(sender.list().map((record) => [record.status, record.attempts, record.lastAnswer])).toEqual([['sent', 3, 'HTTP 500'], ['delivered', 3, 'HTTP 500']]);
  expect(seen).toHaveLength(6);
});

test('magic numbers: +15005550007 ends undelivered with 30003, +15005550008 sends delivered before sent', () => {
  expect(callbackPlan('+15005550007')).toEqual([{ status: 'sent' }, { status: 'undelivered', errorCode: '30003' }]);
  expect(callbackPlan('+15005550008').map((step) => step.status)).toEqual(['delivered', 'sent']);
  expect(callbackPlan('+14155550100').map((step) => step.status)).toEqual(['sent', 'delivered']);
});
