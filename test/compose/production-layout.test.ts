/**
 * The image's runtime layout, without Docker: the Dockerfile's last stage holds production node_modules
 * (`npm ci --omit=dev --ignore-scripts`), package.json, dist/ and the ecosystem files, and runs
 * `pm2-runtime services/<svc>/ecosystem.config.js`. This test builds the same layout in a temp folder with the
 * same commands and starts notif-worker from it against the private test broker, so a runtime dependency left in
 * devDependencies, a script path outside dist/ or a worker that ignores SIGTERM fails here instead of in `make up`.
 *
 * Needs `npm run build` (dist/) and the private broker (`scripts/broker.sh start`, AMQP on TEST_AMQP_PORT).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brokerPasswordFile } from '../../tools/lib/local-broker';

const ROOT = path.resolve(__dirname, '../..');
const AMQP_PORT = Number(process.env.TEST_AMQP_PORT ?? 5673);
const SERVICE = 'notif-worker';
const ECOSYSTEM = `services/${SERVICE}/ecosystem.config.js`;
const ENTRY = `dist/services/${SERVICE}/main.js`;
const START_TIMEOUT_MS = 60_000;
/** PM2's kill_timeout for the workers is 15 s; compose gives 30 s before SIGKILL, so does this test. */
const STOP_TIMEOUT_MS = 30_000;

jest.setTimeout(180_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Process state from /proc/<pid>/stat; undefined once the process is gone. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Running means present and not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live descendant of `root` (PM2 forks its apps detached, so they are not in root's process group). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function httpStatus(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

describe('the production image layout (Dockerfile runtime stage, built without Docker)', () => {
  let layout = '';
  let runtime: ChildProcess | undefined;
  const started = new Set<number>();
  let output = '';

  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, ENTRY))) {
      throw new Error(`${ENTRY} is missing: run \`npm run build\` before this test (the image runs compiled code only)`);
    }
    if (!fs.existsSync(path.join(ROOT, ECOSYSTEM))) throw new Error(`${ECOSYSTEM} is missing`);

    // Same steps as the Dockerfile's deps + build stages' /out, in the same order.
    layout = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-layout-'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(layout, 'package.json'));
    fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(layout, 'package-lock.json'));
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: layout,
      stdio: 'pipe',
      timeout: 150_000,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    fs.rmSync(path.join(layout, 'package-lock.json')); // the image keeps package.json only
    fs.cpSync(path.join(ROOT, 'dist'), path.join(layout, 'dist'), { recursive: true });
    // Every plain .js file under services/: the ecosystem files and the helpers they require (services/shared/pm2).
    const jsFiles = (fs.readdirSync(path.join(ROOT, 'services'), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.js') && !file.split(path.sep).includes('node_modules'));
    for (const file of jsFiles) {
      fs.mkdirSync(path.dirname(path.join(layout, 'services', file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'services', file), path.join(layout, 'services', file));
    }
    fs.cpSync(path.join(ROOT, 'services/sandbox/public'), path.join(layout, 'services/sandbox/public'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'db/migrations'), path.join(layout, 'db/migrations'), { recursive: true });
    if (fs.existsSync(path.join(ROOT, 'ecosystem.dev.config.js'))) {
      fs.copyFileSync(path.join(ROOT, 'ecosystem.dev.config.js'), path.join(layout, 'ecosystem.dev.config.js'));
    }
  }, 170_000);

  afterAll(async () => {
    // Safety net only: the test itself asserts that nothing survives the stop.
    if (runtime?.pid !== undefined) signalGroup(runtime.pid, 'SIGKILL');
    for (const pid of started) signalPid(pid, 'SIGKILL');
    if (layout) fs.rmSync(layout, { recursive: true, force: true });
  });

  test('holds production dependencies only, with pm2-runtime, beside dist/ and the ecosystem files', () => {
    expect(fs.existsSync(path.join(layout, 'node_modules/.bin/pm2-runtime'))).toBe(true);
    expect(fs.existsSync(path.join(layout, ECOSYSTEM))).toBe(true);
    expect(fs.existsSync(path.join(layout, ENTRY))).toBe(true);
    // What the lockfile marks dev-only (direct or transitive) must be absent. A devDependency that a production
    // dependency also needs (yaml, under zod-to-openapi's openapi3-ts) is not dev-only and is rightly there.
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(([where, entry]) => entry.dev === true && where.startsWith('node_modules/')).map(([where]) => where);
    expect(devOnly).toContain('node_modules/jest');
    const devInstalled = devOnly.filter((where) => fs.existsSync(path.join(layout, where)));
    expect(devInstalled).toEqual([]);
  });

  test(`${SERVICE} starts under pm2-runtime, answers /healthz, connects to the broker and leaves nothing running after SIGTERM`, async () => {
    const metricsPort = await freePort();
    const pm2Home = path.join(layout, '.pm2'); // the image's /home/node/.pm2; never the developer's ~/.pm2
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      PM2_HOME: pm2Home,
      // As in the container: a URL without password, the password from a file (compose mounts it as a secret).
      AMQP_URL: `amqp://relay-notif-worker@127.0.0.1:${AMQP_PORT}/relay`,
      AMQP_PASSWORD_FILE: brokerPasswordFile('relay-notif-worker'),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    };
    const child = spawn(path.join(layout, 'node_modules/.bin/pm2-runtime'), [ECOSYSTEM], {
      cwd: layout, // the image's WORKDIR
      env,
      detached: true, // own process group, like PID 1's group in the container
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runtime = child;
    const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-8_000); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exit = new Promise<void>((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(); }));
    const pid = child.pid!;
    started.add(pid);

    const base = `http://127.0.0.1:${metricsPort}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    let health: number | undefined;
    while (Date.now() < deadline && !exited) {
      descendants(pid).forEach((p) => started.add(p));
      health = await httpStatus(`${base}/healthz`);
      if (health === 200) break;
      await sleep(500);
    }
    if (health !== 200) {
      throw new Error(`GET ${base}/healthz never answered 200 within ${START_TIMEOUT_MS / 1000} s ` +
        `(pm2-runtime ${exited ? `exited ${JSON.stringify(exited)}` : 'still running'}); output:\n${output}`);
    }

    // The worker runs from the temp layout's node_modules and dist/, not from the repo.
    const tree = descendants(pid);
    tree.forEach((p) => started.add(p));
    expect(tree.length).toBeGreaterThan(0);
    expect(tree.some((p) => cmdline(p).includes(layout))).toBe(true);

    // Ready = broker connection and channel up: amqplib and the config work from production dependencies.
    let ready: number | undefined;
    while (Date.now() < deadline && ready !== 200) {
      ready = await httpStatus(`${base}/readyz`);
      if (ready !== 200) await sleep(500);
    }
    if (ready !== 200) {
      throw new Error(`GET ${base}/readyz answered ${ready}: is the private broker running on 127.0.0.1:${AMQP_PORT} ` +
        `(scripts/broker.sh start)? output:\n${output}`);
    }

    // Stop like Docker does: SIGTERM to the group, SIGKILL when the grace period runs out.
    descendants(pid).forEach((p) => started.add(p));
    signalGroup(pid, 'SIGTERM');
    let graceTimer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([
      exit.then(() => true),
      new Promise<boolean>((resolve) => { graceTimer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS); }),
    ]);
    clearTimeout(graceTimer);
    if (!graceful) {
      signalGroup(pid, 'SIGKILL');
      for (const p of started) signalPid(p, 'SIGKILL');
      await exit;
    }

    // Orphans are reaped asynchronously: allow a moment before calling anything a survivor.
    const settle = Date.now() + 5_000;
    while ([...started].some(isRunning) && Date.now() < settle) await sleep(200);
    const survivors = [...started].filter(isRunning).map((p) => `${p} ${cmdline(p)}`);
    expect(survivors).toEqual([]);
    expect(graceful ? 'stopped on SIGTERM' : `needed SIGKILL after ${STOP_TIMEOUT_MS / 1000} s; output:\n${output}`)
      .toBe('stopped on SIGTERM');
    expect(await httpStatus(`${base}/healthz`)).toBeUndefined();
  });
});
