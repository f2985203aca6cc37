/**
 * `branches`: a completed conversation (a single one, or every conversation of a run) forks itself
 * n times at its branch turn, through the real stack; the branches share the turns before it (not
 * asked again), are judged like any conversation, and feed `format=dpo`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { branchId } from '../../../conversation/fork-rules';
import { runBudgetKey } from '../../../store/budget-store';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('branches (real stack, judged)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-branches-'));
    const rubric = path.join(dir, 'rubric.json');
    fs.writeFileSync(
      rubric,
      JSON.stringify({
        criteria: [{ name: 'helpfulness', description: 'Do the answers help?' }],
        scale: { min: 1, max: 5 },
        prompt: 'Rate this conversation.\n{{criteria}}\n\n{{transcript}}',
      }),
    );
    stack = await startTestStack({ JUDGE_RUBRIC_FILE: rubric });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sum = (byModel: Record<string, number>) => Object.values(byModel).reduce((a, n) => a + n, 0);
  const localCalls = () => sum(stack.ollama!.stats().byModel);

  it('POST /conversation with branches: 2, branchAt: 2 makes two forks at turn 2 once it completes, asking only turns 2-3 again', async () => {
    const before = localCalls();
    const res = await stack.http.post('/conversation', { initialQuery: 'Plan a picnic.', maxTurns: 3, branches: 2, branchAt: 2 });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const parentId = res.data.conversationId as string;
    await waitForConversation(stack, parentId);
    await until(async () => (await stack.store.forks(parentId)).length === 2, 10_000, 'two forks');
    const forks = await stack.store.forks(parentId);
    assert.deepEqual(
      forks.map((f) => f.id).sort(),
      [0, 1].map((i) => stack.store.shards.newId(stack.store.shards.shardOf(parentId), (a) => branchId(parentId, i, a))).sort(),
    );
    for (const f of forks) {
      assert.equal(f.atTurn, 2);
      const view = await waitForConversation(stack, f.id);
      assert.equal(view.status, 'completed');
      assert.deepEqual(view.fork, { parentId, atTurn: 2 });
      assert.deepEqual(
        view.turns.map((t: { shared?: boolean }) => t.shared === true),
        [true, false, false],
      );
      await until(async () => (await stack.http.get(`/conversation/${f.id}`)).data.judge !== undefined, 10_000, 'the fork judged');
    }
    // 3 local calls for the parent, 2 for each fork (turns 2 and 3); the judge asks the cloud model only.
    assert.equal(localCalls() - before, 3 + 2 + 2);
    // A fork never branches itself.
    for (const f of forks) assert.deepEqual(await stack.store.forks(f.id), []);
    const bad = await stack.http.post('/conversation', { initialQuery: 'x', maxTurns: 2, branches: 1, branchAt: 3 });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.data), /branchAt: 3 is past maxTurns \(2\)/);
  });

  it('a run with branches=1: each conversation gets its fork, and format=dpo reads the run with them', async () => {
    const seeds = ['Why do cats purr?', 'How do bees find flowers?'];
    const up = await stack.http.post(
      '/runs?maxTurns=2&branches=1&maxActive=2',
      `${seeds.map((q) => JSON.stringify({ initialQuery: q })).join('\n')}\n`,
      {
        headers: { 'content-type': 'application/x-ndjson', 'run-options': JSON.stringify({ runBudget: { tokens: 1_000_000 } }) },
        transformRequest: [(d) => d],
      },
    );
    assert.equal(up.status, 202, JSON.stringify(up.data));
    const runId = up.data.runId as string;
    await until(async () => (await stack.http.get(`/runs/${runId}`)).data.state !== 'active', 30_000, 'the run to finish');
    const ids = (await stack.http.get(`/runs/${runId}/conversations`)).data.conversations.map(
      (c: { conversationId: string }) => c.conversationId,
    );
    assert.equal(ids.length, 2);
    let tokens = 0;
    const spent = (v: any) =>
      v.totals.cloudInputTokens + v.totals.cloudOutputTokens + v.totals.localInputTokens + v.totals.localOutputTokens;
    for (const id of ids) {
      tokens += spent(await waitForConversation(stack, id));
      await until(async () => (await stack.store.forks(id)).length === 1, 10_000, 'the fork');
      const [fork] = await stack.store.forks(id);
      assert.equal(fork!.atTurn, 2, 'by default the last turn is asked again');
      const forkView = await waitForConversation(stack, fork!.id);
      assert.equal(forkView.fork.runId, runId, "the fork names its parent's run (for the run's budget)");
      tokens += spent(forkView);
      await until(async () => (await stack.http.get(`/conversation/${fork!.id}`)).data.judge !== undefined, 10_000, 'the fork judged');
    }
    const run = (await stack.http.get(`/runs/${runId}`)).data;
    assert.equal(run.admitted, 2, 'the forks are not part of the run');
    // ... but they spend under its budget: its conversations' turns, their forks' own turns, and the judge's calls.
    const budget = await stack.store.redis.hgetall(runBudgetKey(stack.store.prefix, runId));
    assert.ok(Number(budget.spentTokens) > tokens, `spent ${budget.spentTokens}, turns ${tokens} (+ the judge's calls)`);
    const dpo = await stack.http.get(`/runs/${runId}/export?format=dpo`, { responseType: 'text' });
    assert.equal(dpo.status, 200);
    // The emulator answers the same question the same way, so siblings with the same settings tie and
    // make no pair; what is written is well formed.
    for (const line of (dpo.data as string).split('\n').filter(Boolean)) {
      const l = JSON.parse(line);
      assert.ok(Array.isArray(l.prompt) && l.chosen.length === 1 && l.rejected.length === 1);
    }
  });
});
