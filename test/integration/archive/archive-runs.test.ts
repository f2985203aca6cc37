/**
 * A finished run follows its conversations into the archive (issue 25 part 4), on both real
 * backends (PostgreSQL, its own schema; SQLite, a temp file) with REDIS_RETENTION_SECONDS=1: the
 * run finishes, the reconciler's sweep (its quiet grace set to 0) archives it, every key of it
 * leaves Redis, and `GET /runs/:id`, `GET /runs`, `/runs/:id/conversations` and the exports answer
 * what they answered while it was fresh (the exports byte for byte). An append to it is a 409
 * naming `newRun=true`, which starts a new run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startReconciler } from '../../../workers/reconciler';
import { runBudgetKey } from '../../../store/budget-store';
import { RunStore } from '../../../store/run-store';
import { createTestSchema, type TestSchema } from '../../helpers/postgres';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

const EXPORTS = ['format=openai', 'format=openai&metadata=true', 'format=sharegpt', 'format=csv', 'format=parquet'];

for (const backend of ['postgres', 'sqlite'] as const) {
  describe(`a finished run goes to the archive and leaves Redis (${backend}, the whole pipeline)`, function () {
    this.timeout(120_000);
    let schema: TestSchema | undefined;
    let dir: string | undefined;
    let stack: TestStack;

    before(async function () {
      this.timeout(60_000);
      let url: string;
      if (backend === 'postgres') {
        schema = await createTestSchema();
        url = schema.url;
      } else {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-runs-'));
        url = `sqlite:${path.join(dir, 'archive.sqlite')}`;
      }
      stack = await startTestStack({ ARCHIVE_URL: url, REDIS_RETENTION_SECONDS: '1', EMULATOR_LATENCY_MS: '0' });
    });
    after(async () => {
      await stack?.close();
      await schema?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('its views and exports answer the same from the archive; its keys are gone; an append is a 409', async () => {
      const seeds = Array.from({ length: 6 }, (_, i) =>
        JSON.stringify({ initialQuery: `Run archive question ${i}: why is the sky blue?` }),
      );
      const body = `${seeds.join('\n')}\nnot json\n`;
      const post = (q: string) =>
        stack.http.post(`/runs?${q}`, body, { headers: { 'content-type': 'application/x-ndjson' }, transformRequest: [(d) => d] });
      const res = await post('maxTurns=2&maxActive=3');
      assert.equal(res.status, 202, JSON.stringify(res.data));
      const runId: string = res.data.runId;
      assert.equal(res.data.rejected, 1);
      const runs = new RunStore(stack.store.redis, stack.store.shards);
      const redis = stack.store.redis;
      await until(async () => (await runs.get(runId))?.active === 0 && (await runs.get(runId))?.waiting === 0, 60_000, 'the run to finish');
      await until(async () => (await stack.store.unarchivedCount()) === 0, 30_000, 'every conversation archived');

      const take = async () => {
        const out: Record<string, Buffer> = {};
        for (const q of EXPORTS) {
          const r = await stack.http.get(`/runs/${runId}/export?${q}`, { responseType: 'arraybuffer' });
          assert.equal(r.status, 200, `${q}: ${Buffer.from(r.data).toString().slice(0, 300)}`);
          out[q] = Buffer.from(r.data);
        }
        return out;
      };
      const views = async () => ({
        run: (await stack.http.get(`/runs/${runId}`)).data,
        list: (await stack.http.get('/runs?limit=10')).data,
        conversations: (await stack.http.get(`/runs/${runId}/conversations?limit=100`)).data,
      });
      const [freshExports, freshViews] = await Promise.all([take(), views()]);
      assert.equal(freshViews.conversations.conversations.length, 6);
      assert.ok(JSON.stringify(freshViews.list).includes(runId), 'listed while fresh');

      const reconciler = startReconciler({
        deps: { store: stack.store, queues: stack.queues, archive: stack.archive } as never,
        onFailedJob: async () => {},
        intervalMs: 0,
        runArchiveGraceMs: 0,
        logger: stack.logger,
      });
      assert.equal((await reconciler.sweepOnce()).runsArchived, 1, 'the sweep archived the run');
      assert.equal((await reconciler.sweepOnce()).runsArchived, 0, 'once');
      assert.deepEqual((await stack.archive!.getRun(runId))?.rejected, res.data.rejectedLines, 'its rejected lines archived');

      const k = runs.keys(runId);
      const runKeyList = [
        k.run,
        k.conversations,
        k.backlog,
        k.seeds,
        k.admitting,
        k.rejected,
        runBudgetKey(stack.store.shards.at(runId), runId),
      ];
      await until(async () => (await redis.exists(...runKeyList)) === 0, 30_000, "the run's keys to leave Redis");
      assert.equal(await redis.zscore(`${stack.store.shards.at(runId)}:runs`, runId), null, 'off the runs index');
      assert.equal(await redis.zscore(runs.unarchivedKey(runId), runId), null, 'no longer waiting for the archive');

      const [archivedExports, archivedViews] = await Promise.all([take(), views()]);
      for (const q of EXPORTS) {
        assert.ok(freshExports[q]!.length > 0, `${q}: the fresh export has content`);
        assert.ok(freshExports[q]!.equals(archivedExports[q]!), `${q}: byte-identical fresh and archived`);
      }
      assert.deepEqual(archivedViews.run, freshViews.run, 'GET /runs/:id from the archive');
      assert.deepEqual(archivedViews.conversations, freshViews.conversations, 'GET /runs/:id/conversations from the archive');
      assert.deepEqual(archivedViews.list, freshViews.list, 'GET /runs lists it from the archive');

      const refused = await post(`run=${runId}&maxTurns=2`);
      assert.equal(refused.status, 409, JSON.stringify(refused.data));
      assert.match(JSON.stringify(refused.data), /finished and archived.*newRun=true/);
      const fresh = await post(`run=${runId}&maxTurns=2&newRun=true`);
      assert.equal(fresh.status, 202, JSON.stringify(fresh.data));
      assert.notEqual(fresh.data.runId, runId, 'a new run');
    });
  });
}
