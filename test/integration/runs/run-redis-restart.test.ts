/**
 * A run survives a Redis kill -9 mid-run: Redis restarts from its AOF (`appendfsync everysec`, so
 * up to a second of writes may be gone), the worker processes reconnect, the same file is
 * submitted again, and every seed ends as exactly one completed conversation with one transcript.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../shared/embedded-redis';
import { startLocalStack, type LocalStack } from '../../../stack/local-stack';
import { RunStore } from '../../../store/run-store';
import { FAST_ENV, until } from '../../helpers/test-stack';
import { uniquePrefix } from '../../helpers/redis';
import { WorkerFleet } from '../../faults/fixtures/worker-fleet';

const SEEDS = 200;
const RUN = 'redis-restart-run';
const file = Array.from({ length: SEEDS }, (_, i) => `${JSON.stringify({ initialQuery: `Outage seed ${i}`, meta: { n: i } })}\n`).join('');

describe('runs: Redis killed with SIGKILL mid-run and restarted from its AOF', function () {
  this.timeout(180_000);
  let redis: EmbeddedRedis;
  let stack: LocalStack;
  let http: AxiosInstance;
  let fleet: WorkerFleet;
  let outputDir: string;
  const originalConsoleError = console.error;

  before(async function () {
    this.timeout(60_000);
    redis = await startEmbeddedRedis({ appendfsync: 'everysec' });
    outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-out-'));
    const env = {
      ...FAST_ENV,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: uniquePrefix('run-redis'),
      OUTPUT_DIR: outputDir,
      EMULATOR_LATENCY_MS: '30',
    };
    stack = await startLocalStack({ env, roles: [] });
    http = axios.create({ baseURL: stack.producerUrl, validateStatus: () => true, timeout: 20_000 });
    fleet = new WorkerFleet({
      ...env,
      LOG_LEVEL: 'warn',
      API_GATEWAY_URL: stack.gatewayUrl,
      OLLAMA_HOST: stack.ollama!.url,
      CLOUD_CONCURRENCY: '8',
      LOCAL_CONCURRENCY: '8',
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      RECONCILE_INTERVAL_MS: '1000',
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

  const submit = () =>
    http.post(`/runs?run=${RUN}&maxTurns=1&maxActive=10`, file, {
      headers: { 'content-type': 'application/x-ndjson' },
      transformRequest: [(d) => d],
    });

  it('every seed becomes exactly one completed conversation after resubmission', async () => {
    const first = await submit();
    assert.equal(first.status, 202, JSON.stringify(first.data));
    assert.equal(first.data.accepted, SEEDS);
    const runs = new RunStore(stack.store.redis, stack.store.shards);
    await until(async () => (await runs.get(RUN))!.byStatus.completed! >= 30, 60_000, 'part of the run done');
    const atKill = (await runs.get(RUN))!;
    assert.ok(atKill.byStatus.completed! < SEEDS && atKill.active > 0, `the kill lands mid-run (${JSON.stringify(atKill.byStatus)})`);
    console.error = () => undefined;
    await redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    await redis.restart();
    let again: Awaited<ReturnType<typeof submit>> | undefined;
    await until(
      async () => {
        again = await submit();
        return again.status === 202;
      },
      30_000,
      'the producer to accept the resubmission',
    );
    console.error = originalConsoleError;
    assert.equal(again!.data.accepted + again!.data.duplicates, SEEDS);

    let view: any;
    await until(
      async () => {
        view = (await http.get(`/runs/${RUN}`)).data;
        return view.state === 'finished';
      },
      120_000,
      'the run to finish',
    );
    assert.equal(view.seeds, SEEDS);
    assert.equal(view.byStatus.completed, SEEDS, JSON.stringify(view));
    assert.equal(view.active, 0);
    const ids = await runs.conversations(RUN, 0, 10_000);
    assert.equal(ids.length, SEEDS);
    const seen = new Set<number>();
    for (const id of ids) {
      const rec = (await stack.store.get(id))!;
      assert.equal(rec.status, 'completed');
      seen.add((rec.settings.run!.meta as { n: number }).n);
    }
    assert.equal(seen.size, SEEDS, 'every seed once');
    assert.equal(fs.readdirSync(outputDir).filter((f) => f.endsWith('.csv')).length, SEEDS, 'one transcript per seed');
  });
});
