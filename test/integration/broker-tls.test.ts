/**
 * AMQP over TLS against a real broker: a private node of scripts/broker.sh with an amqps listener that requires a
 * client certificate (mutual TLS), and a throwaway CA, server and client certificates made with openssl in a temp
 * folder. Clients get their CA, certificate and key the way the services do: AMQP_TLS_* files read by
 * config/broker-access.ts. https://www.rabbitmq.com/docs/ssl
 * Ports (env-overridable so parallel runs can move them): amqps 5695, the node's own amqp/management/prometheus/
 * distribution 18500-18503.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokerAccess, type BrokerAccess, type BrokerEnv } from '../../services/shared/config/broker-access';
import { createLogger } from '../../services/shared/logger/logger';
import { connectFirstReachable } from '../../services/shared/messaging/broker-urls';
import { BrokerConnection } from '../../services/shared/messaging/connection';
import { brokerPassword } from '../../tools/lib/local-broker';
import { ROOT } from '../support/broker';
import { startService, stopAll } from '../support/processes';
import { httpStatus } from '../support/stack';
import { waitFor } from '../support/wait';

const AMQPS_PORT = Number(process.env.TLS_TEST_AMQPS_PORT ?? 5695);
const BASE_PORT = Number(process.env.TLS_TEST_BASE_PORT ?? 18500);
const brokerEnv = {
  ...process.env,
  RELAY_AMQP_PORT: String(BASE_PORT),
  RELAY_MGMT_PORT: String(BASE_PORT + 1),
  RELAY_PROM_PORT: String(BASE_PORT + 2),
  RELAY_DIST_PORT: String(BASE_PORT + 3),
  RELAY_NODE: `relay-tls-${AMQPS_PORT}`,
  RELAY_BROKER_DIR: `/tmp/relay-tls-broker-${AMQPS_PORT}`,
};
const logger = createLogger('broker-tls-test', 'silent');
let dir: string;
const file = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a certificate it signs for `names` (subjectAltName entries). */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`));
}
function makeCert(name: string, ca: string, altNames: string, usage: string): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
  fs.writeFileSync(file(`${name}.ext`), `subjectAltName=${altNames}\nextendedKeyUsage=${usage}\n`);
  openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.pem`), '-CAkey', file(`${ca}.key`), '-CAcreateserial',
    '-days', '1', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`));
}

function brokerCtl(command: 'start' | 'stop'): void {
  execFileSync(path.join(ROOT, 'scripts/broker.sh'), [command], { env: { ...brokerEnv, RELAY_BROKER_CONF_EXTRA: tlsConf() }, stdio: 'pipe', timeout: 180_000 });
}

function tlsConf(): string {
  return [
    `listeners.ssl.default = 127.0.0.1:${AMQPS_PORT}`,
    `ssl_options.cacertfile = ${file('ca.pem')}`,
    `ssl_options.certfile = ${file('server.pem')}`,
    `ssl_options.keyfile = ${file('server.key')}`,
    // Mutual TLS: a client without a certificate signed by the CA is refused in the handshake.
    'ssl_options.verify = verify_peer',
    'ssl_options.fail_if_no_peer_cert = true',
  ].join('\n');
}

/** The env a service would get: an amqps URL without password, the password and TLS material as files. */
function tlsEnv(user: string, overrides: Partial<BrokerEnv> = {}): BrokerEnv {
  fs.writeFileSync(file(`${user}.password`), brokerPassword(user));
  return {
    AMQP_URL: `amqps://${user}@127.0.0.1:${AMQPS_PORT}/relay`,
    AMQP_PASSWORD_FILE: file(`${user}.password`),
    AMQP_TLS_CA_FILE: file('ca.pem'),
    AMQP_TLS_CERT_FILE: file('client.pem'),
    AMQP_TLS_KEY_FILE: file('client.key'),
    AMQP_TLS_SERVERNAME: undefined,
    ...overrides,
  };
}

async function connectError(access: BrokerAccess): Promise<string> {
  try {
    const model = await connectFirstReachable(access.url, { socketOptions: access.socketOptions });
    await model.close();
    return 'connected';
  } catch (error) {
    return (error as Error).message;
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-tls-'));
  makeCa('ca');
  makeCa('other-ca');
  makeCert('server', 'ca', 'IP:127.0.0.1,DNS:localhost', 'serverAuth');
  makeCert('client', 'ca', 'DNS:relay-client', 'clientAuth');
  // The node runs as user rabbitmq: it must read its certificate and key (throwaway, in a folder of this test).
  fs.chmodSync(dir, 0o755);
  for (const name of fs.readdirSync(dir)) fs.chmodSync(file(name), 0o644);
  brokerCtl('start');
}, 240_000);

afterAll(async () => {
  await stopAll();
  if (dir) {
    brokerCtl('stop');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(brokerEnv.RELAY_BROKER_DIR, { recursive: true, force: true });
  }
}, 120_000);

describe('AMQP over TLS (amqps://)', () => {
  test('with the CA, a client certificate and the password file, a message is published and consumed over amqps', async () => {
    const access = brokerAccess(tlsEnv('relay-admin'));
    const connection = new BrokerConnection({ ...access, name: 'broker-tls-test' }, logger);
    connection.start();
    try {
      const model = await connection.waitConnected(15_000);
      expect(connection.node).toBe(`amqps://relay-admin:***@127.0.0.1:${AMQPS_PORT}/relay`);
      const channel = await model.createConfirmChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const received = new Promise<string>((resolve) => {
        void channel.consume(queue, (message) => message && resolve(message.content.toString()), { noAck: true });
      });
      channel.sendToQueue(queue, Buffer.from('over tls'));
      await channel.waitForConfirms();
      expect(await received).toBe('over tls');
    } finally {
      await connection.close();
    }
  });

  test('a broker certificate from another CA is refused', async () => {
    expect(await connectError(brokerAccess(tlsEnv('relay-admin', { AMQP_TLS_CA_FILE: file('other-ca.pem') })))).toMatch(/self[- ]signed certificate in certificate chain|unable to verify|certificate/i);
  });

  test('a client without a certificate is refused by the broker (fail_if_no_peer_cert)', async () => {
    const error = await connectError(brokerAccess(tlsEnv('relay-admin', { AMQP_TLS_CERT_FILE: undefined, AMQP_TLS_KEY_FILE: undefined })));
    expect(error).not.toBe('connected');
    expect(error).toMatch(/certificate|handshake|socket|ECONNRESET|closed/i);
  });

  test('the certificate is checked against the name in AMQP_TLS_SERVERNAME', async () => {
    expect(await connectError(brokerAccess(tlsEnv('relay-admin', { AMQP_TLS_SERVERNAME: 'localhost' })))).toBe('connected');
    expect(await connectError(brokerAccess(tlsEnv('relay-admin', { AMQP_TLS_SERVERNAME: 'rabbitmq.example' })))).toMatch(/altnames|does not match|Hostname/i);
  });

  test('a worker started with amqps:// and the AMQP_TLS_* files consumes over TLS; one whose CA file is missing refuses to start', async () => {
    const metricsPort = BASE_PORT + 10;
    const env = tlsEnv('relay-sms-worker');
    const worker = startService('sms-worker', { ...env, METRICS_PORT: String(metricsPort) } as NodeJS.ProcessEnv);
    await waitFor('the worker ready over amqps', async () => ((await httpStatus(`http://127.0.0.1:${metricsPort}/readyz`)) === 200 ? true : undefined), 30_000);
    await worker.stop();

    const broken = startService('sms-worker', { ...env, AMQP_TLS_CA_FILE: file('missing-ca.pem'), METRICS_PORT: String(metricsPort + 1) } as NodeJS.ProcessEnv);
    expect(await broken.exited).toBe(1);
    expect(broken.output()).toContain(`AMQP_TLS_CA_FILE: cannot read ${file('missing-ca.pem')} (ENOENT)`);
  }, 60_000);
});
