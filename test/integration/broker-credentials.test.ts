/**
 * No committed file holds a password the broker accepts: the broker this suite runs against was started by
 * scripts/broker.sh from the committed rabbitmq/ files (make test's start path), which gives every user a password
 * generated into the git-ignored secrets folder. Each user is tried with the committed-era password (its own
 * name), with guest/guest, and with its generated password.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as amqp from 'amqplib';
import { brokerPassword } from '../../tools/lib/local-broker';
import { BROKER, ROOT } from '../support/broker';

const definitions = JSON.parse(fs.readFileSync(path.join(ROOT, 'rabbitmq/definitions.json'), 'utf8')) as {
  users: Array<Record<string, unknown> & { name: string }>;
};
const users = definitions.users.map((user) => user.name);

async function login(user: string, password: string): Promise<'accepted' | string> {
  try {
    const connection = await amqp.connect(`amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${BROKER.amqpPort}/relay`);
    await connection.close();
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
}

async function managementStatus(user: string, password: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${BROKER.mgmtPort}/api/whoami`, {
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('broker credentials', () => {
  test('the committed definitions give every user an empty password hash and no password', () => {
    expect(users.length).toBeGreaterThan(0);
    for (const user of definitions.users) {
      expect(user).not.toHaveProperty('password');
      expect(user).toMatchObject({ password_hash: '', hashing_algorithm: 'rabbit_password_hashing_sha256' });
    }
  });

  test.each(users)('%s cannot log in with its name as password, and can with its generated one', async (user) => {
    expect(await login(user, user)).toMatch(/ACCESS_REFUSED|403/);
    expect(await login(user, '')).toMatch(/ACCESS_REFUSED|403/);
    expect(brokerPassword(user)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await login(user, brokerPassword(user))).toBe('accepted');
  });

  test('guest/guest is refused', async () => {
    expect(await login('guest', 'guest')).toMatch(/ACCESS_REFUSED|403/);
  });

  test('the management API refuses relay-admin/relay-admin and accepts the generated password', async () => {
    expect(await managementStatus('relay-admin', 'relay-admin')).toBe(401);
    expect(await managementStatus('guest', 'guest')).toBe(401);
    expect(await managementStatus('relay-admin', brokerPassword('relay-admin'))).toBe(200);
  });

  test('the generated passwords live in a folder only their owner can read, outside git', () => {
    const folder = path.dirname(fs.realpathSync(path.join(process.env.RELAY_SECRETS_DIR || path.join(ROOT, '.run/secrets'), 'broker', users[0]!)));
    expect(fs.statSync(folder).mode & 0o077).toBe(0);
    if (folder.startsWith(ROOT)) expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8')).toMatch(/^\.run\/$/m);
  });
});
