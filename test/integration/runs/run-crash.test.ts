/**
 * A run survives kill -9: the producer dies mid-upload, a worker process dies mid-run, and the
 * same file is submitted again to the same run. Every seed then runs exactly once: one record, one
 * admission, one transcript each, and nothing left waiting or in flight.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { Redis } from 'ioredis';
import { RunStore } from '../../../store/run-store';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';
import { testRedisUrl } from '../../helpers/redis';
import { WorkerFleet } from '../../faults/fixtures/worker-fleet';
import { startProcess, type RunningProcess } from '../operate/processes';

const SEEDS = 600;
const RUN = 'crash-run';
const lines = Array.from({ length: SEEDS }, (_, i) => `${JSON.stringify({ initialQuery: `Crash seed ${i}`, meta: { n: i } })}\n`);

/** Streams the lines slowly (a chunk every few ms) so the upload is still going when the producer dies. */
function slowUpload(url: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.request(
      `${url}/runs?run=${RUN}&maxTurns=1&maxActive=20`,
      { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', resolve);
      },
    );
    req.on('error', resolve);
    let i = 0;
    const tick = () => {
      if (req.destroyed) return;
      if (i >= lines.length) {
        req.end();
        return;
      }
      req.write(lines.slice(i, i + 20).join(''));
      i += 20;
      setTimeout(tick, 15);
    };
    tick();
  });
}

describe('runs: kill -9 of the producer mid-upload and of a worker mid-run, then resubmission', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let fleet: WorkerFleet;
  let producer: RunningProcess | undefined;
  let redis: Redis;
  let runs: RunStore;

  before(async function () {
    this.timeout(60_000);
    stack = await startTestStack({}, { roles: [], emulatorLatencyMs: 0 });
    redis = stack.store.redis;
    runs = new RunStore(redis, stack.store.shards);
    fleet = new WorkerFleet({
      REDIS_URL: stack.redisUrl,
      QUEUE_PREFIX: stack.config.queuePrefix,
      REDIS_SHARDS: String(stack.config.redisShards),
      API_GATEWAY_URL: stack.gatewayUrl,
      OLLAMA_HOST: stack.ollama!.url,
      OUTPUT_DIR: stack.outputDir,
      LOCK_DURATION_MS: '3000',
      STALLED_INTERVAL_MS: '1500',
      RECONCILE_INTERVAL_MS: '1000',
      CLOUD_CONCURRENCY: '8',
      LOCAL_CONCURRENCY: '8',
      TRANSCRIPT_CONCURRENCY: '8',
      JOB_ATTEMPTS: '6',
      BACKOFF_DELAY_MS: '50',
      LOG_LEVEL: 'warn',
    });
    await Promise.all([fleet.start('w1'), fleet.start('w2')]);
  });
  after(async function () {
    this.timeout(30_000);
    await producer?.kill();
    await fleet?.stopAll();
    await stack?.close();
  });

  it('every seed becomes exactly one completed conversation', async () => {
    producer = startProcess('producer/main.ts', {
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: stack.config.queuePrefix,
      REDIS_SHARDS: String(stack.config.redisShards),
      PORT: '0',
      HOST: '127.0.0.1',
      BEDROCK_ENDPOINT: stack.bedrock!.url,
      LOG_LEVEL: 'info',
    });
    const url = String((await producer.waitForLog((l) => l.msg === 'producer listening')).url);
    const upload = slowUpload(url);
    const runKey = runs.keys(RUN).run;
    await until(async () => Number(await redis.hget(runKey, 'seeds')) >= 150, 30_000, 'part of the upload in the run');
    producer.child.kill('SIGKILL');
    await producer.exited;
    await upload;
    const partial = Number(await redis.hget(runKey, 'seeds'));
    assert.ok(partial > 0 && partial < SEEDS, `the kill cut the upload (${partial} of ${SEEDS} seeds in)`);

    // A worker dies while it holds jobs of the run, and comes back.
    await until(() => [...fleet.workers.values()].some((w) => w.held.size > 0), 20_000, 'a worker holding a job');
    const busy = [...fleet.workers.values()].find((w) => w.held.size > 0)!;
    const killed = await fleet.kill(busy.name);
    await fleet.start(`${busy.name}b`);

    // The same file again, to the same run, through a producer that is up.
    const again = await stack.http.post(`/runs?run=${RUN}&maxTurns=1&maxActive=20`, lines.join(''), {
      headers: { 'content-type': 'application/x-ndjson' },
      transformRequest: [(d) => d],
    });
    assert.equal(again.status, 202, JSON.stringify(again.data));
    assert.equal(again.data.created, false);
    assert.equal(again.data.accepted + again.data.duplicates, SEEDS);
    assert.equal(again.data.duplicates, partial);

    let view: any;
    await until(
      async () => {
        view = (await stack.http.get(`/runs/${RUN}`)).data;
        return view.state === 'finished';
      },
      150_000,
      'the run to finish',
    );
    assert.equal(view.seeds, SEEDS);
    assert.equal(view.admitted, SEEDS);
    assert.equal(view.byStatus.completed, SEEDS, JSON.stringify(view));
    assert.equal(view.active, 0);
    const ids = await runs.conversations(RUN, 0, 10_000);
    assert.equal(ids.length, SEEDS);
    const seen = new Set<number>();
    for (const id of ids) {
      const rec = (await stack.store.get(id))!;
      assert.equal(rec.status, 'completed');
      seen.add(Number((rec.settings.run!.meta as { n: number }).n));
    }
    assert.equal(seen.size, SEEDS, 'every seed once');
    const files = fs.readdirSync(stack.outputDir).filter((f) => f.endsWith('.csv'));
    assert.equal(files.length, SEEDS, 'one transcript per seed');
    assert.ok(killed.held.length > 0);
  });
});
