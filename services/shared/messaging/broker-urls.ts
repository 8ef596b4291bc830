import type { ConnectionOptions } from 'node:tls';
import * as amqp from 'amqplib';

/**
 * AMQP_URL may name several broker nodes (a cluster), comma-separated. Each item is either a full URL
 * (`amqp://user:pass@host:port/vhost`) or `host:port`, which takes scheme, credentials, vhost and query from the
 * first item. `amqp://u:p@10.0.0.1:5672/relay,10.0.0.2:5672,10.0.0.3:5672` is three nodes, one login.
 * https://www.rabbitmq.com/docs/clustering#clients
 */
export function parseBrokerUrls(value: string): string[] {
  const items = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new Error('broker URL list is empty');
  const first = brokerUrl(items[0] as string);
  return items.map((item, index) => {
    if (index === 0 || item.includes('://')) return brokerUrl(item).toString();
    const url = new URL(first.toString());
    const [host, port, extra] = item.split(':');
    if (!host || extra !== undefined || (port !== undefined && !/^\d+$/.test(port))) {
      throw new Error(`broker URL list item ${index + 1} "${item}" is neither a URL nor host:port`);
    }
    url.hostname = host;
    url.port = port ?? '';
    return url.toString();
  });
}

/** The same URL without its password, for logs and error messages. */
export function redactBrokerUrl(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}

function brokerUrl(item: string): URL {
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    throw new Error(`broker URL "${item.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}" is not a URL`);
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') throw new Error(`broker URL ${redactBrokerUrl(item)} must start with amqp:// or amqps://`);
  return url;
}

/**
 * One-shot connection for tools (replay-dead, chaos, cluster test): the first node of `value` (one URL or a list)
 * that accepts the connection. Long-lived services use BrokerConnection, which also reconnects.
 */
export async function connectFirstReachable(value: string, options: { timeoutMs?: number; socketOptions?: ConnectionOptions } = {}): Promise<amqp.ChannelModel> {
  const failures: string[] = [];
  for (const url of parseBrokerUrls(value)) {
    try {
      return await amqp.connect(url, { ...options.socketOptions, timeout: options.timeoutMs ?? 5000 });
    } catch (error) {
      failures.push(`${redactBrokerUrl(url)}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no broker node reachable (${failures.join('; ')})`);
}
