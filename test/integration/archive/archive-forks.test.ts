/**
 * A run with branches, from the archive (issue 25): each conversation of a run forks itself
 * (`branches=1`) and is forked once more by `POST /conversation/:id/fork` (another temperature,
 * so the judge can rank them); all are judged and archived (SQLite), and Redis lets them go after
 * REDIS_RETENTION_SECONDS, their forks lists too. The run's `format=dpo` export is then the same,
 * byte for byte, as the one taken while Redis had them: the forks come from `archive_forks`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('format=dpo of a run with branches reads the forks from the archive (SQLite, the whole pipeline)', function () {
  this.timeout(150_000);
  let stack: TestStack;
  let dir: string;

  before(async function () {
    this.timeout(60_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-forks-'));
    const rubric = path.join(dir, 'rubric.json');
    fs.writeFileSync(
      rubric,
      JSON.stringify({
        criteria: [{ name: 'helpfulness', description: 'Do the answers help?' }],
        // A wide scale: conversations that differ rarely tie (the emulated judge picks a score by hash).
        scale: { min: 1, max: 100 },
        prompt: 'Rate this conversation.\n{{criteria}}\n\n{{transcript}}',
      }),
    );
    stack = await startTestStack({
      ARCHIVE_URL: `sqlite:${path.join(dir, 'archive.sqlite')}`,
      REDIS_RETENTION_SECONDS: '15',
      JUDGE_RUBRIC_FILE: rubric,
      EMULATOR_LATENCY_MS: '0',
    });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the fresh and the archived dpo exports are byte-identical and not empty; forks() answers from the archive', async () => {
    const seeds = ['Why do cats purr?', 'How do bees find flowers?', 'What makes bread rise?'];
    const up = await stack.http.post(
      '/runs?maxTurns=2&branches=1&maxActive=3',
      `${seeds.map((q) => JSON.stringify({ initialQuery: q })).join('\n')}\n`,
      { headers: { 'content-type': 'application/x-ndjson' }, transformRequest: [(d) => d] },
    );
    assert.equal(up.status, 202, JSON.stringify(up.data));
    const runId = up.data.runId as string;
    await until(async () => (await stack.http.get(`/runs/${runId}`)).data.state !== 'active', 60_000, 'the run to finish');
    const parents: string[] = (await stack.http.get(`/runs/${runId}/conversations`)).data.conversations.map(
      (c: { conversationId: string }) => c.conversationId,
    );
    assert.equal(parents.length, 3);
    const family: string[] = [];
    for (const id of parents) {
      await waitForConversation(stack, id);
      // A fork asked by hand while the parent is still in Redis (its grace after the archive's write).
      const f = await stack.http.post(`/conversation/${id}/fork`, { atTurn: 2, temperature: 0.7 });
      assert.equal(f.status, 202, JSON.stringify(f.data));
      await until(async () => (await stack.store.forks(id)).length === 2, 20_000, 'the branch and the fork');
      family.push(id, ...(await stack.store.forks(id)).map((x) => x.id));
    }
    for (const id of family) {
      await waitForConversation(stack, id);
      await until(async () => (await stack.http.get(`/conversation/${id}`)).data.judge !== undefined, 30_000, `${id} judged`);
    }
    await until(async () => (await stack.store.unarchivedCount()) === 0, 30_000, 'every conversation archived');
    const forksBefore = await Promise.all(parents.map((id) => stack.store.forks(id)));
    const dpo = async () => {
      const r = await stack.http.get(`/runs/${runId}/export?format=dpo`, { responseType: 'arraybuffer' });
      assert.equal(r.status, 200);
      return Buffer.from(r.data);
    };
    const fresh = await dpo();
    const redis = stack.store.redis;
    const forksKey = (id: string) => stack.store.forksKeyOf(id);
    assert.ok((await redis.exists(...parents.map(forksKey))) > 0, 'the fresh export read forks lists still in Redis');
    assert.ok(fresh.length > 0, 'the fresh dpo export has preference lines');
    for (const line of fresh.toString().split('\n').filter(Boolean)) {
      const l = JSON.parse(line);
      assert.ok(l.chosen.length === 1 && l.rejected.length === 1, line.slice(0, 200));
    }

    const keys = family.flatMap((id) => [...stack.store.recordKeys(id), forksKey(id)]);
    await until(async () => (await redis.exists(...keys)) === 0, 60_000, 'Redis to drop the records and forks lists');
    assert.deepEqual(await Promise.all(parents.map((id) => stack.store.forks(id))), forksBefore, 'the forks, from the archive');
    const archived = await dpo();
    assert.ok(archived.equals(fresh), `byte-identical: fresh ${fresh.length} B, archived ${archived.length} B`);
  });
});
