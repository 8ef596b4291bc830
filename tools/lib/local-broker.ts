import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The checkout, whether this runs from tools/lib (ts-jest) or dist/tools/lib (the built tools). */
const ROOT = ((dir: string) => (path.basename(dir) === 'dist' ? path.dirname(dir) : dir))(path.resolve(__dirname, '../..'));

/**
 * The password scripts/broker-secrets.sh generated for a broker user of this checkout (scripts/broker.sh creates
 * them at start, in $RELAY_SECRETS_DIR/broker, default .run/secrets/broker). The committed definitions hold none.
 */
export function brokerPassword(user: string): string {
  const file = brokerPasswordFile(user);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(`no generated password for broker user ${user} in ${file} (scripts/broker.sh start creates it): ${(error as Error).message}`);
  }
}

/** Where that password is: what AMQP_PASSWORD_FILE names for a service started natively. */
export function brokerPasswordFile(user: string): string {
  return path.join(process.env.RELAY_SECRETS_DIR || path.join(ROOT, '.run/secrets'), 'broker', user);
}

/**
 * AMQP_URL for `user` on the private native node (RELAY_AMQP_PORT, default 5673), or on the nodes `hostPorts` of
 * a native cluster (`host:port` items share the first one's login and vhost: messaging/broker-urls.ts).
 */
export function localBrokerUrl(user: string, hostPorts: string[] = [`127.0.0.1:${process.env.RELAY_AMQP_PORT || 5673}`]): string {
  const [first, ...rest] = hostPorts;
  return [`amqp://${user}:${encodeURIComponent(brokerPassword(user))}@${first}/relay`, ...rest].join(',');
}
