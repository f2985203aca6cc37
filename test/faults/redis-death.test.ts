/**
 * Fault 3: Redis itself dies (SIGKILL) mid-run and is restarted on the same port with its AOF
 * (`appendfsync everysec`). Workers are separate OS processes that must ride it out without a
 * restart; the producer (here, with the emulators and the local gateway) must answer 503 while
 * Redis is down and recover by itself.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { isTerminal } from '../../conversation/model';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { startLocalStack, type LocalStack } from '../../stack/local-stack';
import { FAST_ENV, until } from '../helpers/test-stack';
import { uniquePrefix } from '../helpers/redis';
import { checkCompleteTranscript, leftoverJobs } from './fixtures/transcript-check';
import { WorkerFleet } from './fixtures/worker-fleet';

const BEFORE = 20;
const AFTER = 5;
const MAX_TURNS = 4;
const DOWN_MS = 3000;
const originalConsoleError = console.error;

describe('fault: Redis killed with SIGKILL and restarted from its AOF mid-run', function () {
  this.timeout(150_000);
  let redis: EmbeddedRedis;
  let stack: LocalStack;
  let http: AxiosInstance;
  let fleet: WorkerFleet;
  let outputDir: string;

  before(async function () {
    this.timeout(60_000);
    redis = await startEmbeddedRedis({ appendfsync: 'everysec' });
    outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-out-'));
    const env = {
      ...FAST_ENV,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: uniquePrefix('redis-death'),
      OUTPUT_DIR: outputDir,
      EMULATOR_LATENCY_MS: '150',
    };
    stack = await startLocalStack({ env, roles: [] });
    http = axios.create({ baseURL: stack.producerUrl, validateStatus: () => true, timeout: 10_000 });
    fleet = new WorkerFleet({
      ...env,
      LOG_LEVEL: 'warn',
      API_GATEWAY_URL: stack.gatewayUrl,
      OLLAMA_HOST: stack.ollama!.url,
      LOCAL_CONCURRENCY: '4',
      // The outage (3 s) outlasts the lock: every lock held at the kill has expired on restart.
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
    });
    await Promise.all([fleet.start('r1'), fleet.start('r2')]);
  });

  after(async function () {
    this.timeout(30_000);
    console.error = originalConsoleError;
    await fleet?.stopAll();
    await stack?.close();
    await redis?.stop();
    if (outputDir) fs.rmSync(outputDir, { recursive: true, force: true });
  });

  it('conversations accepted before the kill complete, workers reconnect, the producer answers 503 then recovers', async () => {
    const pids = [...fleet.workers.values()].map((w) => w.child.pid);
    const before: string[] = [];
    for (let i = 0; i < BEFORE; i++) {
      const res = await http.post('/conversation', { initialQuery: `Before the outage ${i}`, maxTurns: MAX_TURNS });
      assert.equal(res.status, 202);
      before.push(res.data.conversationId);
    }
    const acceptedAt = Date.now();
    // Kill Redis more than a second after the last acceptance, while the conversations run.
    await new Promise((r) => setTimeout(r, 1500));
    let running = 0;
    for (const id of before) if (!isTerminal((await stack.store.get(id))?.status)) running += 1;
    assert.ok(running > 0, 'the kill lands mid-run');
    // Outage errors must reach the structured logs, not raw stack traces on stderr: count what
    // anything in this process (producer, queues) prints with console.error meanwhile.
    const rawErrors: string[] = [];
    console.error = (...args: unknown[]) => void rawErrors.push(args.map(String).join(' ').slice(0, 200));
    await redis.kill('SIGKILL');
    const killedAt = Date.now();

    // While Redis is down: the producer answers 503 quickly, never 500 or a hang.
    const downAnswers: { status: number; ms: number; code?: string }[] = [];
    while (Date.now() - killedAt < DOWN_MS) {
      const t0 = Date.now();
      const res = await http.post('/conversation', { initialQuery: 'During the outage', maxTurns: 1 });
      downAnswers.push({ status: res.status, ms: Date.now() - t0, code: res.data?.error?.code });
      const view = await http.get(`/conversation/${before[0]}`);
      downAnswers.push({ status: view.status, ms: Date.now() - t0, code: view.data?.error?.code });
      await new Promise((r) => setTimeout(r, 200));
    }
    const ready = await http.get('/ready');
    const health = await http.get('/health');
    assert.equal(ready.status, 503, 'not ready while Redis is down');
    assert.equal(health.status, 200, 'alive while Redis is down');
    assert.ok(downAnswers.length >= 4);
    for (const a of downAnswers) {
      assert.equal(a.status, 503, `every answer while Redis is down is 503: ${JSON.stringify(a)}`);
      assert.equal(a.code, 'redis_unavailable');
    }

    // Restart on the same port and data dir: the producer recovers by itself.
    await redis.restart();
    const restartedAt = Date.now();
    let recoveredAt = 0;
    const after: string[] = [];
    await until(
      async () => {
        const res = await http.post('/conversation', { initialQuery: 'After the outage 0', maxTurns: MAX_TURNS });
        if (res.status === 202) {
          recoveredAt = Date.now();
          after.push(res.data.conversationId);
          return true;
        }
        assert.equal(res.status, 503, `only 503 while reconnecting: ${JSON.stringify(res.data)}`);
        return false;
      },
      20_000,
      'the producer to accept again',
    );
    console.error = originalConsoleError;
    for (let i = 1; i < AFTER; i++) {
      const res = await http.post('/conversation', { initialQuery: `After the outage ${i}`, maxTurns: MAX_TURNS });
      assert.equal(res.status, 202);
      after.push(res.data.conversationId);
    }

    // Every conversation — accepted before the kill or after the restart — completes in full.
    const all = [...before, ...after];
    await until(
      async () => {
        for (const id of all) if (!isTerminal((await stack.store.get(id))?.status)) return false;
        return true;
      },
      60_000,
      'every conversation to finish after the restart',
    );
    let rowsChecked = 0;
    for (const id of all) rowsChecked += await checkCompleteTranscript(stack.store, outputDir, id, MAX_TURNS);
    await until(async () => Object.keys(await leftoverJobs(stack.queues)).length === 0, 10_000, 'queues to drain');

    // The same worker processes did it: reconnected, not restarted.
    const livePids = [...fleet.workers.values()].filter((w) => w.child.exitCode === null).map((w) => w.child.pid);
    assert.deepEqual(livePids, pids, 'worker processes survived the outage');
    assert.equal(fleet.starts, 2, 'no worker restart');
    const completedAfter = new Set(
      fleet
        .of('done')
        .filter((m) => m.at > restartedAt)
        .map((m) => m.from),
    );
    assert.deepEqual([...completedAfter].sort(), ['r1', 'r2'], 'both workers processed jobs after the restart');

    const figures = {
      conversationsBeforeKill: BEFORE,
      runningAtKill: running,
      acceptedMsBeforeKill: killedAt - acceptedAt,
      conversationsAfterRestart: AFTER,
      downMs: restartedAt - killedAt,
      answersWhileDown: downAnswers.length,
      answers503: downAnswers.filter((a) => a.status === 503).length,
      slowestAnswerWhileDownMs: Math.max(...downAnswers.map((a) => a.ms)),
      producerRecoveryMs: recoveredAt - restartedAt,
      workerErrorsSeen: fleet.of('error').length,
      workerRestarts: fleet.starts - 2,
      rawConsoleErrors: rawErrors.length,
      jobsRequeuedByStallCheck: fleet.of('stalled').length,
      locksLostInOutage: fleet.of('lock-lost').length,
      bedrockCalls: stack.bedrock!.stats().calls,
      ollamaCalls: stack.ollama!.stats().calls,
      stepsNeeded: (BEFORE + AFTER) * MAX_TURNS,
      rowsChecked,
    };
    console.log(`      [figures] redis-death ${JSON.stringify(figures)}`);
    assert.ok(figures.slowestAnswerWhileDownMs < 3000, 'a 503 comes fast, not after a hang');
    assert.deepEqual(rawErrors, [], 'no unstructured error output during the outage');
  });
});
