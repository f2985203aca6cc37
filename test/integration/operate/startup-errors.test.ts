/**
 * Start-up mistakes stop the real entry points at once, naming the setting to change: a REDIS_URL
 * nothing answers at (producer, workers, npm start), a taken PORT / METRICS_PORT / GATEWAY_PORT
 * (checked before Redis, the emulators or any worker start).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startProcess, type RunningProcess } from './processes';

/** A port nothing listens on (port 1: tcpmux, never served here). */
const DEAD_REDIS = 'redis://127.0.0.1:1';

describe('start-up errors name what to change (real processes)', function () {
  this.timeout(60_000);
  const running: RunningProcess[] = [];
  const dirs: string[] = [];
  let taken: net.Server;
  let takenPort: number;

  before(async () => {
    taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    takenPort = (taken.address() as net.AddressInfo).port;
  });
  after(() => taken.close());
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function failing(entry: string, env: Record<string, string>) {
    const p = startProcess(entry, { HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
    running.push(p);
    const started = Date.now();
    const { code, at } = await p.exited;
    return { code, ms: at - started, out: p.output() };
  }

  for (const [entry, extra] of [
    ['producer/main.ts', { PORT: '0' }],
    ['workers/main.ts', { METRICS_PORT: '0', WORKER_ROLES: 'transcript' }],
  ] as const) {
    it(`${entry} with REDIS_URL=${DEAD_REDIS}: exits 1 at once naming REDIS_URL and the address`, async () => {
      const r = await failing(entry, { REDIS_URL: DEAD_REDIS, ...extra });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /configuration error: REDIS_URL=redis:\/\/127\.0\.0\.1:1: nothing accepts connections at 127\.0\.0\.1:1/);
      assert.ok(r.ms < 8000, `exited after ${r.ms} ms`);
    });
  }

  it(`npm start (stack/main.ts) with REDIS_URL=${DEAD_REDIS}: exits 1 naming REDIS_URL, before any emulator or worker starts`, async () => {
    const r = await failing('stack/main.ts', { REDIS_URL: DEAD_REDIS, PORT: '0' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /REDIS_URL=redis:\/\/127\.0\.0\.1:1: nothing accepts connections at 127\.0\.0\.1:1/);
    assert.doesNotMatch(r.out, /worker|emulator ready|is running/i);
  });

  it('npm start with a taken PORT: exits 1 naming PORT before the embedded Redis starts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-port-'));
    dirs.push(dir);
    const r = await failing('stack/main.ts', { PORT: String(takenPort), REDIS_DATA_DIR: path.join(dir, 'redis') });
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      new RegExp(`configuration error: PORT=${takenPort}: 127\\.0\\.0\\.1:${takenPort} is already in use.*set PORT to a free port`),
    );
    assert.doesNotMatch(r.out, /embedded redis-server ready/);
    assert.ok(!fs.existsSync(path.join(dir, 'redis')), 'no Redis data dir was made');
  });

  it('a producer with a taken PORT names PORT (before connecting to Redis)', async () => {
    const r = await failing('producer/main.ts', { PORT: String(takenPort), REDIS_URL: DEAD_REDIS });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`PORT=${takenPort}: .* is already in use`));
  });

  it('a worker with a taken METRICS_PORT, and the gateway with a taken GATEWAY_PORT, name them', async () => {
    const w = await failing('workers/main.ts', { METRICS_PORT: String(takenPort), REDIS_URL: DEAD_REDIS, WORKER_ROLES: 'transcript' });
    assert.match(w.out, new RegExp(`METRICS_PORT=${takenPort}: .* is already in use.*set METRICS_PORT`));
    const g = await failing('lambda/main.ts', { GATEWAY_PORT: String(takenPort), BEDROCK_ENDPOINT: 'http://127.0.0.1:1' });
    assert.equal(g.code, 1, g.out);
    assert.match(g.out, new RegExp(`GATEWAY_PORT=${takenPort}: .* is already in use.*set GATEWAY_PORT`));
  });
});
