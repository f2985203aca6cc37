/**
 * Forks through the real stack (Redis, emulators, gateway, workers, producer):
 * `POST /conversation/:id/fork` shares the parent's turns 1..atTurn-1 (copied, not asked again,
 * not billed), asks turn atTurn on with its own settings, and is refused with 400/404/409 naming
 * the fault.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';
import { BudgetStore, conversationBudgetKey } from '../../../store/budget-store';
import { JudgeStore } from '../../../store/judge-store';
import { runBudgetKey } from '../../../store/budget-store';

describe('forks (real stack)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.close();
  });

  /** Model calls (generations, not metadata requests) each emulator served. */
  const sum = (byModel: Record<string, number>) => Object.values(byModel).reduce((a, n) => a + n, 0);
  const calls = () => ({ cloud: sum(stack.bedrock!.stats().byModel), local: sum(stack.ollama!.stats().byModel) });

  async function finished(body: Record<string, unknown>) {
    const res = await stack.http.post('/conversation', body);
    assert.equal(res.status, 202, JSON.stringify(res.data));
    return waitForConversation(stack, res.data.conversationId);
  }

  it('a fork at turn 3 shares turns 1-2 (not asked again, not billed) and asks turns 3-5 with its own settings', async () => {
    const parent = await finished({ initialQuery: 'What is a good name for a cat?', maxTurns: 5 });
    assert.equal(parent.turnsCompleted, 5);
    const before = calls();
    const res = await stack.http.post(`/conversation/${parent.conversationId}/fork`, {
      atTurn: 3,
      temperature: 0.9,
      systemPrompts: { cloud: 'Answer like a pirate.' },
      budget: { tokens: 1_000_000 },
    });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    assert.deepEqual(res.data.fork, { parentId: parent.conversationId, atTurn: 3 });
    const fork = await waitForConversation(stack, res.data.conversationId);
    const spent = { cloud: calls().cloud - before.cloud, local: calls().local - before.local };
    assert.deepEqual(spent, { cloud: 3, local: 3 }, 'only turns 3, 4 and 5 were asked');

    assert.equal(fork.status, 'completed');
    assert.equal(fork.stopReason, 'max_turns');
    assert.deepEqual(fork.fork, { parentId: parent.conversationId, atTurn: 3 });
    assert.deepEqual(
      fork.turns.map((t: { turn: number; shared?: boolean }) => [t.turn, t.shared === true]),
      [
        [1, true],
        [2, true],
        [3, false],
        [4, false],
        [5, false],
      ],
    );
    // The shared turns are the parent's, word for word (models, tokens and times too).
    for (const k of [0, 1]) {
      const { shared: _shared, ...copied } = fork.turns[k];
      assert.deepEqual(copied, parent.turns[k]);
    }
    // Turn 3 is asked again from the same history: the same question, the fork's own answer.
    assert.equal(fork.turns[2].question, parent.turns[2].question);
    // Billed for its own turns only: the totals, the cost and the budget leave turns 1-2 out.
    const own = fork.turns.slice(2);
    const tokens = own.reduce(
      (a: number, t: any) => a + t.cloud.inputTokens + t.cloud.outputTokens + t.local.inputTokens + t.local.outputTokens,
      0,
    );
    assert.equal(
      fork.totals.cloudInputTokens + fork.totals.cloudOutputTokens + fork.totals.localInputTokens + fork.totals.localOutputTokens,
      tokens,
    );
    const budget = await new BudgetStore(stack.store.redis).state(
      conversationBudgetKey(stack.store.shards.at(fork.conversationId), fork.conversationId),
    );
    assert.equal(budget?.spentTokens, tokens, 'the budget was charged for turns 3-5 only');
    assert.equal(fork.budget.spentTokens, tokens);
  });

  it("a fork of a fork shares its parent's turns, those it copied included", async () => {
    const root = await finished({ initialQuery: 'Explain rainbows.', maxTurns: 4 });
    const child = await stack.http.post(`/conversation/${root.conversationId}/fork`, { atTurn: 2, temperature: 0.5 });
    const childView = await waitForConversation(stack, child.data.conversationId);
    const before = calls();
    const grand = await stack.http.post(`/conversation/${child.data.conversationId}/fork`, {
      atTurn: 4,
      cloudModel: 'amazon.nova-lite-v1:0',
    });
    assert.equal(grand.status, 202, JSON.stringify(grand.data));
    const view = await waitForConversation(stack, grand.data.conversationId);
    assert.deepEqual({ cloud: calls().cloud - before.cloud, local: calls().local - before.local }, { cloud: 1, local: 1 });
    for (const k of [0, 1, 2]) {
      const { shared: _a, ...copied } = view.turns[k];
      const { shared: _b, ...original } = childView.turns[k];
      assert.deepEqual(copied, original, `turn ${k + 1}`);
    }
    assert.equal(view.turns[0].cloudResponse, root.turns[0].cloudResponse);
    assert.equal(view.turns[3].cloud.model, 'amazon.nova-lite-v1:0');
    assert.equal(view.turns[0].cloud.model, root.turns[0].cloud.model, 'a copied step keeps the model that answered it');
  });

  it('a fork with an Idempotency-Key asked twice is one fork; without one, each request is a sibling', async () => {
    const parent = await finished({ initialQuery: 'Name three rivers.', maxTurns: 2 });
    const url = `/conversation/${parent.conversationId}/fork`;
    const key = { headers: { 'Idempotency-Key': `fork-${randomUUID()}` } };
    const first = await stack.http.post(url, { atTurn: 2, temperature: 0.2 }, key);
    const again = await stack.http.post(url, { atTurn: 2, temperature: 0.2 }, key);
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.data.conversationId, first.data.conversationId);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    const other = await stack.http.post(url, { atTurn: 2, temperature: 0.7 }, key);
    assert.equal(other.status, 422, 'the same key with another body');
    const sibling = await stack.http.post(url, { atTurn: 2, temperature: 0.2 });
    assert.notEqual(sibling.data.conversationId, first.data.conversationId);
    await waitForConversation(stack, first.data.conversationId);
    await waitForConversation(stack, sibling.data.conversationId);
    const forks = await stack.store.forks(parent.conversationId);
    assert.deepEqual(forks.map((f) => f.id).sort(), [first.data.conversationId, sibling.data.conversationId].sort());
    const listed = (await stack.http.get(`/conversation/${parent.conversationId}`)).data.forks;
    assert.deepEqual(listed.map((f: { conversationId: string }) => f.conversationId).sort(), forks.map((f) => f.id).sort());
    assert.ok(forks.every((f) => f.atTurn === 2));
  });

  it('refuses a bad request with 400 naming the fault, an unknown parent with 404, an unreached turn with 409', async () => {
    const parent = await finished({ initialQuery: 'Why is the sky blue?', maxTurns: 2 });
    const url = `/conversation/${parent.conversationId}/fork`;
    const bad = async (body: unknown, status: number, pattern: RegExp) => {
      const res = await stack.http.post(url, body);
      assert.equal(res.status, status, JSON.stringify(res.data));
      assert.match(JSON.stringify(res.data), pattern);
    };
    await bad({ atTurn: 0 }, 400, /atTurn/);
    await bad({ temperature: 0.5 }, 400, /atTurn/);
    await bad({ atTurn: 1.5 }, 400, /atTurn/);
    await bad({ atTurn: 2, maxTurns: 1 }, 400, /atTurn: 2 is past the fork's maxTurns \(1\)/);
    await bad({ atTurn: 2, initialQuery: 'other' }, 400, /unknown field\(s\): initialQuery/);
    await bad({ atTurn: 2, persona2: 'x' }, 400, /unknown field\(s\): persona2/);
    await bad({ atTurn: 2, temperature: 'hot' }, 400, /temperature/);
    await bad({ atTurn: 4, maxTurns: 5 }, 409, /2 complete turn\(s\).*shares turns 1\.\.3/);
    const missing = await stack.http.post(`/conversation/${randomUUID()}/fork`, { atTurn: 1 });
    assert.equal(missing.status, 404);
    // atTurn = completed turns + 1 is fine: a fork that goes on where the parent stopped.
    const onward = await stack.http.post(url, { atTurn: 3, maxTurns: 3 });
    assert.equal(onward.status, 202, JSON.stringify(onward.data));
    const view = await waitForConversation(stack, onward.data.conversationId);
    assert.equal(view.turnsCompleted, 3);
    assert.deepEqual(
      view.turns.map((t: { shared?: boolean }) => t.shared === true),
      [true, true, false],
    );
  });

  it('format=dpo exports the parent and its forks at the same turn as a TRL preference line, chosen by the judge', async () => {
    const parent = await finished({ initialQuery: 'How do tides work?', maxTurns: 3 });
    const url = `/conversation/${parent.conversationId}/fork`;
    const a = await stack.http.post(url, { atTurn: 2, temperature: 0.1, systemPrompts: { cloud: 'Be exact.' } });
    const b = await stack.http.post(url, { atTurn: 2, temperature: 1 });
    const forkA = await waitForConversation(stack, a.data.conversationId);
    await waitForConversation(stack, b.data.conversationId);
    // The judge's scores, saved through the judge's store (what the judge step writes).
    const judges = new JudgeStore(stack.store.redis, stack.config.queuePrefix);
    const scored = (scores: Record<string, number>) => ({ status: 'scored' as const, scores, model: 'judge', attempts: 1, at: Date.now() });
    await judges.save(parent.conversationId, scored({ helpfulness: 3, coherence: 2 }), 60);
    await judges.save(a.data.conversationId, scored({ helpfulness: 5, coherence: 1 }), 60);
    await judges.save(b.data.conversationId, scored({ helpfulness: 1, coherence: 4 }), 60);

    const res = await stack.http.get(`/conversation/${parent.conversationId}/export?format=dpo&score=helpfulness`, {
      responseType: 'text',
    });
    assert.equal(res.status, 200, res.data);
    assert.match(String(res.headers['content-type']), /ndjson/);
    const lines = (res.data as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.deepEqual(line.prompt, [
      { role: 'user', content: parent.turns[0].question },
      { role: 'assistant', content: parent.turns[0].cloudResponse },
      { role: 'user', content: parent.turns[1].question },
    ]);
    assert.deepEqual(line.chosen, [{ role: 'assistant', content: forkA.turns[1].cloudResponse }]);
    assert.equal(line.rejected[0].role, 'assistant');
    assert.equal(line.metadata.chosen.conversationId, a.data.conversationId);
    assert.equal(line.metadata.rejected.conversationId, b.data.conversationId);
    assert.equal(line.metadata.candidates, 3);
    assert.equal(line.metadata.chosen.systemPrompts.cloud, 'Be exact.');
    // Ranked by the mean of both criteria instead: a 3, the parent 2.5, b 2.5; a is still chosen.
    const mean = await stack.http.get(`/conversation/${parent.conversationId}/export?format=dpo`, { responseType: 'text' });
    const byMean = JSON.parse((mean.data as string).trim());
    assert.equal(byMean.metadata.chosen.conversationId, a.data.conversationId);
    assert.equal(byMean.metadata.rankedBy, 'mean of the judge scores');
    const bad = await stack.http.get(`/conversation/${parent.conversationId}/export?format=openai&score=helpfulness`);
    assert.equal(bad.status, 400);
    // pairs=all: by helpfulness a 5, the parent 3, b 1: three pairs; minMargin=3 keeps a over b only.
    const pairs = async (query: string) => {
      const r = await stack.http.get(`/conversation/${parent.conversationId}/export?format=dpo&score=helpfulness&${query}`, {
        responseType: 'text',
      });
      assert.equal(r.status, 200, r.data);
      return (r.data as string)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).metadata)
        .map((m) => [m.chosen.conversationId, m.rejected.conversationId, m.margin]);
    };
    const [p, fa, fb] = [parent.conversationId, a.data.conversationId, b.data.conversationId];
    assert.deepEqual(await pairs('pairs=all'), [
      [fa, p, 2],
      [fa, fb, 4],
      [p, fb, 2],
    ]);
    assert.deepEqual(await pairs('pairs=all&minMargin=3'), [[fa, fb, 4]]);
    const badMargin = await stack.http.get(`/conversation/${parent.conversationId}/export?format=dpo&minMargin=lots`);
    assert.equal(badMargin.status, 400);
    assert.match(JSON.stringify(badMargin.data), /minMargin must be a number/);
  });

  it("a run's conversation branches under the run's budget (turns of the forks counted, the shared ones not), outside its counts", async () => {
    const up = await stack.http.post(
      '/runs?maxTurns=3&branches=2&branchAt=2&maxActive=2',
      `${JSON.stringify({ initialQuery: 'Why is ice slippery?' })}\n`,
      {
        headers: { 'content-type': 'application/x-ndjson', 'run-options': JSON.stringify({ runBudget: { tokens: 1_000_000 } }) },
        transformRequest: [(d) => d],
      },
    );
    assert.equal(up.status, 202, JSON.stringify(up.data));
    const runId = up.data.runId as string;
    const [{ conversationId }] = (await stack.http.get(`/runs/${runId}/conversations`)).data.conversations;
    const spent = (v: any) =>
      v.totals.cloudInputTokens + v.totals.cloudOutputTokens + v.totals.localInputTokens + v.totals.localOutputTokens;
    let tokens = spent(await waitForConversation(stack, conversationId));
    let forks: { id: string; atTurn: number }[] = [];
    const deadline = Date.now() + 10_000;
    while ((forks = await stack.store.forks(conversationId)).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal(forks.length, 2);
    for (const f of forks) tokens += spent(await waitForConversation(stack, f.id));
    const budget = await stack.store.redis.hgetall(runBudgetKey(stack.store.shards.at(runId), runId));
    assert.equal(Number(budget.spentTokens), tokens);
    const run = (await stack.http.get(`/runs/${runId}`)).data;
    assert.equal(run.admitted, 1);
    assert.equal(run.state, 'finished');
  });
});
