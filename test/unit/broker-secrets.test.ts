/**
 * scripts/broker-secrets.sh: a password for every user of the definitions file it is given, and RabbitMQ's salted
 * SHA-256 hash of it in the rendered copy (checked here with node:crypto, the way the broker checks a login:
 * https://www.rabbitmq.com/docs/passwords#computing-password-hash).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/broker-secrets.sh');
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-secrets-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function secrets(args: string[], definitions = path.join(ROOT, 'rabbitmq/definitions.json')): string {
  return execFileSync(SCRIPT, args, { env: { ...process.env, RELAY_DEFINITIONS_SOURCE: definitions }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function matchesRabbitHash(hash: string, password: string): boolean {
  const bytes = Buffer.from(hash, 'base64');
  const salt = bytes.subarray(0, 4);
  return bytes.length === 36 && createHash('sha256').update(Buffer.concat([salt, Buffer.from(password)])).digest().equals(bytes.subarray(4));
}

describe('scripts/broker-secrets.sh', () => {
  test('renders every committed user with the salted SHA-256 hash of its own generated password', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'rabbitmq/definitions.json'), 'utf8'));
    secrets(['ensure', path.join(dir, 'broker')]);
    secrets(['render', path.join(dir, 'broker'), path.join(dir, 'definitions.json')]);
    const rendered = JSON.parse(fs.readFileSync(path.join(dir, 'definitions.json'), 'utf8'));

    expect(rendered.users.map((user: { name: string }) => user.name)).toEqual(committed.users.map((user: { name: string }) => user.name));
    for (const user of rendered.users) {
      const password = fs.readFileSync(path.join(dir, 'broker', user.name), 'utf8');
      expect(matchesRabbitHash(user.password_hash, password)).toBe(true);
      expect(matchesRabbitHash(user.password_hash, user.name)).toBe(false);
      expect(fs.statSync(path.join(dir, 'broker', user.name)).mode & 0o777).toBe(0o600);
    }
    // Everything but the hashes is the committed file, unchanged.
    expect({ ...rendered, users: rendered.users.map((user: object) => ({ ...user, password_hash: '' })) }).toEqual(committed);
  });

  test('ensure keeps existing passwords, and a user added to the definitions gets one at the next run', () => {
    const definitions = path.join(dir, 'definitions.json');
    const committed = fs.readFileSync(path.join(ROOT, 'rabbitmq/definitions.json'), 'utf8');
    secrets(['ensure', path.join(dir, 'broker')], path.join(ROOT, 'rabbitmq/definitions.json'));
    const before = fs.readFileSync(path.join(dir, 'broker', 'relay-app'), 'utf8');

    const parsed = JSON.parse(committed);
    parsed.users.push({ name: 'relay-added', password_hash: '', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] });
    fs.writeFileSync(definitions, JSON.stringify(parsed, null, 2));
    secrets(['ensure', path.join(dir, 'broker')], definitions);
    secrets(['render', path.join(dir, 'broker'), path.join(dir, 'rendered.json')], definitions);

    expect(fs.readFileSync(path.join(dir, 'broker', 'relay-app'), 'utf8')).toBe(before);
    const added = JSON.parse(fs.readFileSync(path.join(dir, 'rendered.json'), 'utf8')).users.find((user: { name: string }) => user.name === 'relay-added');
    expect(matchesRabbitHash(added.password_hash, fs.readFileSync(path.join(dir, 'broker', 'relay-added'), 'utf8'))).toBe(true);
  });

  test('render refuses to write definitions for a user that has no password yet', () => {
    fs.mkdirSync(path.join(dir, 'broker'));
    expect(() => secrets(['render', path.join(dir, 'broker'), path.join(dir, 'out.json')])).toThrow(/no password for relay-admin/);
    expect(fs.existsSync(path.join(dir, 'out.json'))).toBe(false);
  });
});
