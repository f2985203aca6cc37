/**
 * The local model pool across processes: two Ollama emulators with different slot counts, worker-like
 * processes sharing them through Redis leases (coordination/slot-leases.ts), the real `ollama` client.
 * The emulators do not enforce slots here; their own concurrency counters (`maxInFlight`) show
 * whether the pool ever ran more calls on a host than its slots.
 * Real Ollama queues calls beyond OLLAMA_NUM_PARALLEL and answers 503 beyond OLLAMA_MAX_QUEUE
 * (ollama/ollama server/sched.go ErrMaxQueue); the pool keeps every host at or below its slots.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startOllamaEmulator, type EmulatorHandle } from '../../../emulators/ollama-emulator';
import { loadConfig } from '../../../shared/config';
import { silentLogger } from '../../../shared/logger';
import { createLocalPool, poolEndpointId } from '../../../providers/create-providers';
import { SlotLeases } from '../../../coordination/slot-leases';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { until } from '../../helpers/test-stack';

const FIXTURE = path.join(__dirname, 'fixtures', 'pool-caller.ts');

interface Caller {
  child: ChildProcess;
  messages: Record<string, unknown>[];
  done: Promise<Record<string, unknown>>;
}

function startCaller(env: Record<string, string>, calls: number, parallel: number): Caller {
  const child = fork(FIXTURE, [String(calls), String(parallel)], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const messages: Record<string, unknown>[] = [];
  const done = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => {
      messages.push(m);
      if (m.type === 'done') resolve(m);
      if (m.type === 'fatal') reject(new Error(String(m.message)));
    });
    child.on('exit', (code, signal) => reject(new Error(`caller exited (${code ?? signal}) before it was done`)));
  });
  done.catch(() => undefined);
  return { child, messages, done };
}

describe('local model pool (OLLAMA_HOSTS) across processes', function () {
  this.timeout(60_000);
  let gpu1: EmulatorHandle;
  let gpu2: EmulatorHandle;
  const callers: Caller[] = [];
  let redis: Redis;

  beforeEach(async () => {
    gpu1 = await startOllamaEmulator({ latencyMs: 200 });
    gpu2 = await startOllamaEmulator({ latencyMs: 200 });
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    for (const c of callers.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await gpu1.close();
    await gpu2.close();
    redis.disconnect();
  });

  it('three processes never run more calls on a host than its slots, and fill both', async () => {
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('pool'),
      OLLAMA_HOSTS: `${gpu1.url}*4,${gpu2.url}*2`,
      LOG_LEVEL: 'silent',
    };
    for (let i = 0; i < 3; i++) callers.push(startCaller(env, 12, 5));
    const results = await Promise.all(callers.map((c) => c.done));
    for (const r of results) assert.deepEqual([r.ok, r.failed], [12, 0], JSON.stringify(r.errors));
    assert.equal(gpu1.stats().maxInFlight, 4, 'gpu1 (4 slots) ran at most 4 calls at once and was filled');
    assert.equal(gpu2.stats().maxInFlight, 2, 'gpu2 (2 slots) ran at most 2 calls at once and was filled');
    assert.equal((gpu1.stats().byRoute.chat ?? 0) + (gpu2.stats().byRoute.chat ?? 0), 36);
  });

  it('the slots of a kill -9ed process come back within the lease', async () => {
    const prefix = uniquePrefix('pool');
    gpu1.faults.set({ latencyMs: 30_000 });
    const env = {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      OLLAMA_HOSTS: `${gpu1.url}*3`,
      OLLAMA_SLOT_LEASE_MS: '1500',
      LOG_LEVEL: 'silent',
    };
    const holder = startCaller(env, 3, 3);
    callers.push(holder);
    const leases = new SlotLeases(redis, prefix);
    // A loopback endpoint's slots are this machine's: the id carries the host name.
    const id = poolEndpointId(gpu1.url);
    await until(async () => (await leases.inUse([id]))[0] === 3, 15_000, 'the holder takes all 3 slots');
    holder.child.kill('SIGKILL');
    const killedAt = Date.now();
    assert.equal(await leases.acquire([{ id, slots: 3 }], 'probe-now', 60_000), -1, 'right after the kill the slots are still leased');
    await until(async () => (await leases.inUse([id]))[0] === 0, 5_000, 'the leases expire');
    const back = Date.now() - killedAt;
    assert.ok(back <= 1500 + 500, `slots came back after ${back} ms (lease 1500 ms)`);
    assert.equal(await leases.acquire([{ id, slots: 3 }], 'after', 60_000), 0);
  });

  it('a host killed mid-run: its calls finish on the other host, and it is taken out of the pool', async () => {
    const prefix = uniquePrefix('pool');
    const config = loadConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      OLLAMA_HOSTS: `${gpu1.url}*2,${gpu2.url}*2`,
      OLLAMA_BREAKER_FAILURES: '1',
    });
    const leases = new SlotLeases(redis, prefix);
    await leases.listen();
    const pool = createLocalPool(config, leases, silentLogger);
    try {
      const calls = Array.from({ length: 12 }, (_, i) => pool.generate({ prompt: `q${i}`, timeoutMs: 20_000 }));
      await until(() => gpu1.stats().inFlight > 0, 5_000, 'gpu1 is answering');
      await gpu1.close();
      const replies = await Promise.allSettled(calls);
      const failed = replies.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, []);
      const state = pool.endpoints();
      assert.equal(state.find((e) => e.url === gpu1.url)?.state, 'open');
      assert.equal(state.find((e) => e.url === gpu2.url)?.state, 'closed');
      assert.ok(
        (gpu2.stats().byRoute.chat ?? 0) >= 7,
        `gpu2 answered ${gpu2.stats().byRoute.chat} of 12 (its own share and gpu1's lost calls)`,
      );
      assert.equal(gpu2.stats().maxInFlight <= 2, true, 'the failover still kept gpu2 within its slots');
    } finally {
      pool.close();
      await leases.close();
    }
  });

  it('an open endpoint is probed back in once it answers with the model again', async () => {
    const prefix = uniquePrefix('pool');
    const port = gpu1.port;
    await gpu1.close();
    const config = loadConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      OLLAMA_HOSTS: `${gpu1.url}*1,${gpu2.url}*1`,
      OLLAMA_BREAKER_FAILURES: '1',
      OLLAMA_BREAKER_COOLDOWN_MS: '300',
    });
    const leases = new SlotLeases(redis, prefix);
    await leases.listen();
    const pool = createLocalPool(config, leases, silentLogger);
    try {
      await pool.checkHealth();
      assert.equal(pool.endpoints()[0]!.state, 'open');
      assert.match(pool.endpoints()[0]!.lastError ?? '', /api\/version/);
      await pool.generate({ prompt: 'while gpu1 is down', timeoutMs: 10_000 });
      assert.equal(gpu2.stats().byRoute.chat, 1);
      gpu1 = await startOllamaEmulator({ port, latencyMs: 200 });
      await until(() => pool.endpoints()[0]!.state === 'closed', 5_000, 'gpu1 probed back in');
    } finally {
      pool.close();
      await leases.close();
    }
  });
});
