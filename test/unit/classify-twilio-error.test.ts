import twilio from 'twilio';
import { classifyTwilioError } from '../../services/sms-worker/classify-twilio-error';
import { RedirectingHttpClient } from '../../services/sms-worker/sandbox-http-client';
import { closedPort, startHttpServer } from '../support/local-servers';

/** Sends one SMS through the real twilio SDK to `baseUrl` and returns what it threw. */
async function twilioFailure(baseUrl: string, timeoutMs = 2000): Promise<unknown> {
  const client = twilio('ACtest00000000000000000000000000', 'token', { httpClient: new RedirectingHttpClient(baseUrl, timeoutMs) as never, autoRetry: false });
  try {
    await client.messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' });
  } catch (error) {
    return error;
  }
  throw new Error('expected the SDK to throw');
}

describe('twilio errors are classified by status class first, codes as hints', () => {
  const replies: Array<[number, number, 'transient' | 'permanent' | 'credentials']> = [
    [429, 20429, 'transient'],
    [500, 20500, 'transient'],
    [503, 20503, 'transient'],
    [400, 21211, 'permanent'], // invalid number
    [400, 21610, 'permanent'], // unsubscribed recipient
    [401, 20003, 'credentials'], // wrong account SID or auth token: the worker pauses, the message waits
  ];

  test.each(replies)('HTTP %i with code %i from the API is %s', async (status, code, kind) => {
    const server = await startHttpServer((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status, code, message: 'x', more_info: '' }));
    });
    try {
      const error = await twilioFailure(server.url);
      expect(error).toMatchObject({ status, code });
      expect(classifyTwilioError(error)).toEqual({ kind, reason: `twilio HTTP ${status} code ${code}` });
    } finally {
      await server.close();
    }
  });

  test('a refused connection is transient', async () => {
    const error = await twilioFailure(`http://127.0.0.1:${await closedPort()}`);
    expect(classifyTwilioError(error)).toEqual({ kind: 'transient', reason: 'twilio ECONNREFUSED' });
  });

  test('a provider that never answers times out, and that is transient', async () => {
    const server = await startHttpServer(() => undefined);
    try {
      const error = await twilioFailure(server.url, 200);
      expect(classifyTwilioError(error)).toEqual({ kind: 'transient', reason: 'twilio timeout' });
    } finally {
      await server.close();
    }
  });
});
