import { createWebhookProvider } from '../../services/notif-worker/webhook-provider';
import { closedPort, startHttpServer } from '../support/local-servers';

const envelope = { id: 'n-1', type: 'notif' as const, acceptedAt: new Date().toISOString(), payload: { recipient: 'u', title: 't', body: 'b' } };

async function webhookFailure(url: string, timeoutMs = 2000): Promise<ReturnType<ReturnType<typeof createWebhookProvider>['classify']>> {
  const provider = createWebhookProvider({ NOTIF_WEBHOOK_URL: url, NOTIF_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 9).toString('base64')}`, NOTIF_TIMEOUT_MS: String(timeoutMs) });
  try {
    await provider.send(envelope, { requestId: undefined, attempt: 1 });
  } catch (error) {
    return provider.classify(error);
  }
  throw new Error('expected the webhook call to fail');
}

describe('webhook errors: 429, 5xx, timeouts and connection errors transient; 401/403 credentials; other 4xx permanent', () => {
  test.each([
    [429, 'transient'],
    [500, 'transient'],
    [502, 'transient'],
    [400, 'permanent'],
    [404, 'permanent'],
    [410, 'permanent'],
    [301, 'permanent'],
    [401, 'credentials'],
    [403, 'credentials'],
  ])('HTTP %i is %s', async (status, kind) => {
    const server = await startHttpServer((_request, response) => response.writeHead(status, { location: '/elsewhere' }).end());
    try {
      expect(await webhookFailure(server.url)).toEqual({ kind, reason: `webhook HTTP ${status}` });
    } finally {
      await server.close();
    }
  });

  test('a refused connection is transient', async () => {
    expect(await webhookFailure(`http://127.0.0.1:${await closedPort()}`)).toEqual({ kind: 'transient', reason: 'webhook ECONNREFUSED' });
  });

  test('an answer over 1 MiB is not read into memory: the call fails, and that is transient', async () => {
    const server = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      // 4 MiB, written as the client reads it.
      let left = 64;
      const more = () => {
        while (left > 0) {
          left -= 1;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    try {
      expect(await webhookFailure(server.url)).toEqual({ kind: 'transient', reason: 'webhook EANSWER_TOO_LARGE' });
    } finally {
      await server.close();
    }
  });

  test('a receiver that never answers times out, and that is transient', async () => {
    const server = await startHttpServer(() => undefined);
    try {
      expect(await webhookFailure(server.url, 200)).toEqual({ kind: 'transient', reason: 'webhook timeout' });
    } finally {
      await server.close();
    }
  });
});
