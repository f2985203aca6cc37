/**
 * The reconciler's run sweeps under REDIS_SHARDS=3 (the whole stack on the test's Redis, every
 * shard's keys on it; the cluster's slots are test/integration/cluster/cluster-runs.test.ts):
 * runs on each of the three shards whose seeds nobody admitted and whose admission a crash left
 * half done are admitted by one sweep (`liveList` over every shard), complete, and once quiet
 * are archived by one sweep (`unarchived` over every shard), their keys leaving Redis.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SeedPayload } from '../../../runs/run-admission';
import { runIdOnShard } from '../../../runs/run-ids';
import { runConversationId, seedHash } from '../../../runs/seed-identity';
import { RunStore } from '../../../store/run-store';
import { startReconciler } from '../../../workers/reconciler';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

describe('runs under REDIS_SHARDS=3: the reconciler admits and archives the runs of every shard', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-shards-'));
    stack = await startTestStack({
      REDIS_SHARDS: '3',
      ARCHIVE_URL: `sqlite:${path.join(dir, 'archive.sqlite')}`,
      REDIS_RETENTION_SECONDS: '1',
      EMULATOR_LATENCY_MS: '0',
      RECONCILE_INTERVAL_MS: '0',
    });
  });
  after(async () => {
    await stack?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one sweep admits what waits on every shard (stranded admissions too); once finished, one sweep archives all three', async () => {
    const shards = stack.store.shards;
    assert.equal(shards.count, 3);
    const runs = new RunStore(stack.store.redis, shards, stack.archive);
    const made: { runId: string; ids: string[] }[] = [];
    for (const shard of [0, 1, 2]) {
      const runId = runIdOnShard(shards, shard, 'swept');
      assert.equal(await runs.create(runId, 'swept', 5, 10), true);
      await runs.setBudget(runId);
      const seeds = [0, 1, 2].map((i): [string, string] => {
        const r = { initialQuery: `Shard ${shard} question ${i}: why is the sky blue?`, maxTurns: 1 };
        const h = seedHash(r);
        const payload: SeedPayload = { r, h };
        return [runConversationId(runId, h, shards), JSON.stringify(payload)];
      });
      assert.equal((await runs.addSeeds(runId, seeds)).accepted, 3);
      // A crash after the claim, before the record and turn 1: left in `admitting`.
      assert.equal((await runs.claim(runId, 1)).length, 1);
      made.push({ runId, ids: seeds.map(([id]) => id) });
    }
    assert.equal(new Set(made.map((r) => shards.shardOf(r.runId))).size, 3, 'one run per shard');
    assert.equal((await runs.backlogTotals()).seeds, 6);

    const reconciler = startReconciler({
      deps: { config: stack.config, store: stack.store, queues: stack.queues, archive: stack.archive } as never,
      onFailedJob: async () => {},
      intervalMs: 0,
      queuedGraceMs: 0,
      runArchiveGraceMs: 0,
      logger: stack.logger,
    });
    const first = await reconciler.sweepOnce();
    assert.equal(first.admitted, 9, 'three stranded and six waiting, over three shards');
    for (const r of made) {
      await until(async () => (await runs.get(r.runId))?.byStatus.completed === 3, 60_000, `run ${r.runId} to complete`);
      for (const id of r.ids) assert.equal(shards.shardOf(id), shards.shardOf(r.runId));
    }
    await until(async () => (await stack.store.unarchivedCount()) === 0, 30_000, 'every conversation archived');
    assert.equal((await runs.unarchived(Date.now() + 1, 100)).length, 3, 'every shard noted its run for the archive');

    const second = await reconciler.sweepOnce();
    assert.equal(second.runsArchived, 3, 'the three runs archived in one sweep');
    assert.deepEqual(await runs.unarchived(Date.now() + 1, 100), []);
    for (const r of made) {
      const k = runs.keys(r.runId);
      await until(
        async () => (await stack.store.redis.exists(k.run, k.conversations)) === 0,
        30_000,
        `run ${r.runId}'s keys to leave Redis`,
      );
      assert.equal((await runs.get(r.runId))?.byStatus.completed, 3, 'read from the archive');
    }
    assert.deepEqual(await runs.liveList(100), []);
    assert.deepEqual((await runs.list(100)).sort(), made.map((r) => r.runId).sort(), 'listed from the archive');
    reconciler.stop();
  });
});
