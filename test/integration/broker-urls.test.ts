import net from 'node:net';
import { createLogger } from '../../services/shared/logger/logger';
import { parseBrokerUrls } from '../../services/shared/messaging/broker-urls';
import { BrokerConnection } from '../../services/shared/messaging/connection';
import { brokerPassword } from '../../tools/lib/local-broker';
import { BROKER } from '../support/broker';
import { sleep } from '../support/wait';

/**
 * AMQP_URL as a list of nodes, against the real private broker: each "node" is a TCP relay in this process to the
 * broker's AMQP port, so a node can be stopped for real (listener closed, its sockets destroyed) in milliseconds.
 * The 3-node cluster run (`make cluster-test`) stops real broker nodes.
 */
interface Relay {
  port: number;
  stop: () => Promise<void>;
}

const relays: Relay[] = [];

async function startRelay(port = 0): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(BROKER.amqpPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  const relay: Relay = {
    port: (server.address() as net.AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  relays.push(relay);
  return relay;
}

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const relay = await startRelay();
  await relay.stop();
  return relay.port;
}

const login = `amqp://relay-admin:${encodeURIComponent(brokerPassword('relay-admin'))}@127.0.0.1`;
const logger = createLogger('broker-urls-test', 'silent');
const connections: BrokerConnection[] = [];

function connect(url: string): BrokerConnection {
  const connection = new BrokerConnection({ url, name: 'broker-urls-test', minReconnectDelayMs: 50, maxReconnectDelayMs: 500 }, logger);
  connections.push(connection);
  connection.start();
  return connection;
}

afterEach(async () => {
  await Promise.all(connections.splice(0).map((connection) => connection.close()));
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

describe('AMQP_URL as a list of broker nodes', () => {
  test('items are full URLs, or host:port sharing the first URL\'s login and vhost', () => {
    expect(parseBrokerUrls('amqp://u:p@10.0.0.1:5672/relay, 10.0.0.2:5673 ,amqps://v:q@h3/other')).toEqual([
      'amqp://u:p@10.0.0.1:5672/relay',
      'amqp://u:p@10.0.0.2:5673/relay',
      'amqps://v:q@h3/other',
    ]);
    expect(() => parseBrokerUrls(' , ')).toThrow(/empty/);
    expect(() => parseBrokerUrls('http://u:p@h/relay')).toThrow(/amqp:\/\//);
    expect(() => parseBrokerUrls('amqp://u:p@h/relay,h2:x')).toThrow(/item 2/);
  });

  test('when the first node is down, the client connects to the next one', async () => {
    const dead = await deadPort();
    const alive = await startRelay();
    const connection = connect(`${login}:${dead}/relay,127.0.0.1:${alive.port}`);
    const model = await connection.waitConnected(10_000);
    const channel = await model.createChannel();
    await channel.checkExchange('relay.messages');
    expect(connection.node).toBe(`amqp://relay-admin:***@127.0.0.1:${alive.port}/relay`);
  });

  test('when the node it is connected to stops, the client reconnects to another node', async () => {
    const first = await startRelay();
    const second = await startRelay();
    const connection = connect(`${login}:${first.port}/relay,${login}:${second.port}/relay`);
    await connection.waitConnected(10_000);
    expect(connection.node).toContain(`:${first.port}/`);
    const lost = new Promise((resolve) => connection.once('disconnected', resolve));
    const back = new Promise((resolve) => connection.once('connected', resolve));
    await first.stop();
    await lost;
    await back;
    expect(connection.node).toContain(`:${second.port}/`);
    await (await connection.current!.createChannel()).checkQueue('relay.sms');
  });

  test('with every node down it keeps trying, and connects when one comes back', async () => {
    const port = await deadPort();
    const other = await deadPort();
    const connection = connect(`${login}:${other}/relay,127.0.0.1:${port}`);
    await sleep(300); // a few failed rounds (backoff 50-500 ms)
    expect(connection.state).toBe('connecting');
    await startRelay(port);
    await connection.waitConnected(15_000);
    expect(connection.node).toContain(`:${port}/`);
  });
});
