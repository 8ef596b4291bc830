import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { amqpUrl, drainQueue, purgeAllQueues } from '../support/broker';
import { securityEnv, testApiKey } from '../support/api-keys';
import { closedPort } from '../support/local-servers';
import { startService, stopAll } from '../support/processes';
import { waitReady } from '../support/stack';
import { sleep } from '../support/wait';

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** One request through `agent` (kept-alive sockets), answered or rejected with the socket error. */
function request(agent: http.Agent, port: number, method: string, urlPath: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers: body ? { 'content-type': 'application/json', authorization: `Bearer ${testApiKey()}` } : {} }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

// The compiled app on a free port of its own, started directly (no PM2) so the test can signal it.
test('a draining app answers /readyz 503 at once and still answers requests on kept-alive sockets, with Connection: close', async () => {
  await purgeAllQueues();
  const port = await closedPort();
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-drain-'));
  const app = startService('app', { ...securityEnv(), OPS_PORT: String(await closedPort()), PORT: String(port), HOST: '127.0.0.1', AMQP_URL: amqpUrl('relay-app'), METRICS_SOCKET_DIR: socketDir, DRAIN_IDLE_GRACE_MS: '3000' });
  try {
    await waitReady([`http://127.0.0.1:${port}/readyz`], 30_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    // Two kept-alive sockets, both idle when the drain starts.
    const warm = await Promise.all([0, 1].map((i) => request(agent, port, 'POST', '/v1/sms', { to: '+14155550100', body: `before ${i}` })));
    expect(warm.map((a) => [a.status, a.connection])).toEqual([[202, 'keep-alive'], [202, 'keep-alive']]);

    process.kill(app.pid, 'SIGTERM');
    await sleep(300);
    const ready = await request(agent, port, 'GET', '/readyz');
    expect([ready.status, ready.connection]).toEqual([503, 'close']);
    const late = await request(agent, port, 'POST', '/v1/sms', { to: '+14155550100', body: 'during the drain' });
    expect([late.status, late.connection]).toEqual([202, 'close']);
    expect(JSON.parse(late.body)).toMatchObject({ status: 'queued' });

    expect(await app.exited).toBe(0);
    const stored = (await drainQueue('relay.sms')).flatMap((m) => JSON.parse(m.content.toString()) as unknown[]);
    expect(stored.map((e) => (e as { payload: { body: string } }).payload.body).sort()).toEqual(['before 0', 'before 1', 'during the drain']);
    agent.destroy();
  } finally {
    await stopAll();
    fs.rmSync(socketDir, { recursive: true, force: true });
  }
}, 60_000);
