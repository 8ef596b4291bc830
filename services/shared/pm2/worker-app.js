'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');

/**
 * PM2 settings shared by every long-running service. kill_timeout must exceed the service's drain
 * (SHUTDOWN_TIMEOUT_MS, 10 s) so a drain is never cut short; compose's stop_grace_period (30 s) exceeds both.
 * https://pm2.keymetrics.io/docs/usage/application-declaration/
 */
function serviceApp(name, overrides = {}) {
  return {
    name,
    script: path.join(root, 'dist/services', name, 'main.js'),
    cwd: root,
    exec_mode: 'fork',
    instances: 1,
    wait_ready: true,
    listen_timeout: 15000,
    kill_timeout: 15000,
    exp_backoff_restart_delay: 200,
    max_memory_restart: '512M',
    merge_logs: true,
    // pm2-runtime prints every app's output on its own stdout; PM2's log files would only grow in the container.
    out_file: '/dev/null',
    error_file: '/dev/null',
    time: false,
    // No @pm2/io agent: it wraps every HTTP request and timer for PM2's own dashboards, which this stack does not
    // use (Prometheus does that job); measured at several percent of the API's CPU under steady load.
    pmx: false,
    env: { NODE_ENV: process.env.NODE_ENV || 'production', ...brokerPasswordEnv(name) },
    ...overrides,
  };
}

/** The broker user each broker client logs in as (rabbitmq/definitions.json); services not listed have none. */
function brokerUser(name) {
  if (name === 'app' || name.endsWith('-worker')) return `relay-${name}`;
  return { 'status-service': 'relay-status', 'status-webhooks': 'relay-status-webhooks' }[name];
}

/**
 * Natively (make dev, the tests, bench, chaos) a broker client's password is the file scripts/broker-secrets.sh
 * generated for its user; in a container AMQP_PASSWORD_FILE comes from compose (a mounted secret) and is left as it is.
 */
function brokerPasswordEnv(name) {
  const user = brokerUser(name);
  if (process.env.AMQP_PASSWORD_FILE || !user) return {};
  const secrets = process.env.RELAY_SECRETS_DIR || path.join(root, '.run/secrets');
  return { AMQP_PASSWORD_FILE: path.join(secrets, 'broker', user) };
}

module.exports = { serviceApp, brokerUser, root };
