import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { parseBrokerUrls, redactBrokerUrl } from '../messaging/broker-urls';
import { ConfigError, amqpUrlVar, readSecretFile } from './load-config';

const optionalPath = z.string().optional().transform((value) => (value === '' ? undefined : value));

/**
 * The env vars every broker client reads (app, workers, tools). The password and the TLS material come from
 * files so they can be mounted as secrets instead of sitting in the environment or a committed file.
 * https://www.rabbitmq.com/docs/ssl#amqp-client
 */
export function brokerVars(defaultUser: string) {
  return {
    /** One URL or a cluster's list (messaging/broker-urls.ts); amqps:// turns TLS on. No password by default. */
    AMQP_URL: amqpUrlVar(`amqp://${defaultUser}@127.0.0.1:5673/relay`),
    /** File holding the password for every URL that carries none (scripts/broker-secrets.sh writes them). */
    AMQP_PASSWORD_FILE: optionalPath,
    /** PEM CA bundle the broker's certificate must chain to; unset: Node's default CAs. */
    AMQP_TLS_CA_FILE: optionalPath,
    /** PEM client certificate and key, for a broker that asks for one (mutual TLS, `fail_if_no_peer_cert`). */
    AMQP_TLS_CERT_FILE: optionalPath,
    AMQP_TLS_KEY_FILE: optionalPath,
    /** Name the broker's certificate must carry when it differs from the URL's host (e.g. a URL by IP). */
    AMQP_TLS_SERVERNAME: optionalPath,
  };
}

export type BrokerEnv = { [K in keyof ReturnType<typeof brokerVars>]: z.infer<ReturnType<typeof brokerVars>[K]> };

/** What `amqp.connect` needs: the URL list with passwords filled in, and the TLS socket options. */
export interface BrokerAccess {
  url: string;
  socketOptions: ConnectionOptions;
}

/**
 * Reads the files the broker env names, at boot: a missing file or a URL with no password fails the start with
 * the variable's name instead of an ACCESS_REFUSED or TLS error at every reconnect.
 */
export function brokerAccess(env: Partial<BrokerEnv> & { AMQP_URL: string }): BrokerAccess {
  const password = env.AMQP_PASSWORD_FILE ? readSecretFile('AMQP_PASSWORD_FILE', env.AMQP_PASSWORD_FILE).trim() : undefined;
  const urls = parseBrokerUrls(env.AMQP_URL).map((item) => {
    const url = new URL(item);
    if (!url.password && password) url.password = encodeURIComponent(password);
    if (!url.username || !url.password) {
      throw new ConfigError(`AMQP_URL ${redactBrokerUrl(item)} carries no user and password: set AMQP_PASSWORD_FILE (make dev and make up generate one per user)`);
    }
    return url;
  });
  const tlsVars = (['AMQP_TLS_CA_FILE', 'AMQP_TLS_CERT_FILE', 'AMQP_TLS_KEY_FILE', 'AMQP_TLS_SERVERNAME'] as const).filter((name) => env[name]);
  const plain = urls.find((url) => url.protocol !== 'amqps:');
  if (tlsVars.length > 0 && plain) {
    throw new ConfigError(`${tlsVars.join(', ')} set but AMQP_URL ${redactBrokerUrl(plain.toString())} is not amqps://: the TLS settings would be ignored`);
  }
  if (Boolean(env.AMQP_TLS_CERT_FILE) !== Boolean(env.AMQP_TLS_KEY_FILE)) {
    throw new ConfigError('AMQP_TLS_CERT_FILE and AMQP_TLS_KEY_FILE go together: set both or neither');
  }
  const socketOptions: ConnectionOptions = {};
  if (env.AMQP_TLS_CA_FILE) socketOptions.ca = readSecretFile('AMQP_TLS_CA_FILE', env.AMQP_TLS_CA_FILE);
  if (env.AMQP_TLS_CERT_FILE) socketOptions.cert = readSecretFile('AMQP_TLS_CERT_FILE', env.AMQP_TLS_CERT_FILE);
  if (env.AMQP_TLS_KEY_FILE) socketOptions.key = readSecretFile('AMQP_TLS_KEY_FILE', env.AMQP_TLS_KEY_FILE);
  if (env.AMQP_TLS_SERVERNAME) socketOptions.servername = env.AMQP_TLS_SERVERNAME;
  return { url: urls.map((url) => url.toString()).join(','), socketOptions };
}
