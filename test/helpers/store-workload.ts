/**
 * The stores' ordinary work, arranged so every script of store/lua and coordination/lua runs at
 * least once: runs with owners, conversations created, stepped, forked, finished and retried,
 * budgets, judgements, model quirks, limiter windows and slot leases. Used by the declared-keys
 * check on one node (test/integration/store/declared-keys.test.ts) and on a real Redis Cluster
 * (test/integration/cluster/cluster-scripts.test.ts), where every key must be in one slot.
 */
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { CloudStep, ConversationSettings } from '../../conversation/model';
import { DEFAULT_TEMPLATES } from '../../conversation/templates';
import { CloudLimiter } from '../../coordination/cloud-limiter';
import { SlotLeases } from '../../coordination/slot-leases';
import { BudgetStore, conversationBudgetKey, runBudgetKey } from '../../store/budget-store';
import { ConversationStore } from '../../store/conversation-store';
import { JudgeStore } from '../../store/judge-store';
import { ModelQuirks } from '../../store/model-quirks';
import { RunStore } from '../../store/run-store';

const settings = (id: string, runId?: string): ConversationSettings => ({
  initialQuery: 'Why is the sky blue?',
  outputFile: `conversation-${id}.csv`,
  maxTurns: 2,
  timeoutMinutes: 5,
  cloudModel: 'anthropic.claude-3-haiku-20240307-v1:0',
  localModel: 'llama3.2',
  contextTurns: 1,
  templates: { ...DEFAULT_TEMPLATES },
  systemPrompts: {},
  ...(runId ? { run: { id: runId, seedHash: 'h' } } : {}),
});
const step = (k: number): CloudStep => ({
  question: `question ${k}`,
  answer: `answer ${k}`,
  model: 'anthropic.claude-3-haiku-20240307-v1:0',
  inputTokens: 10,
  outputTokens: 20,
  latencyMs: 5,
  stopReason: 'end_turn',
  startedAt: Date.now(),
  at: Date.now(),
});

/** Runs every store and coordination script through its store, under `prefix`, asserting each answer. */
export async function exerciseEveryScript(redis: Redis, prefix: string): Promise<void> {
  const store = new ConversationStore(redis, { prefix, retentionSeconds: 60 });
  const runs = new RunStore(redis, prefix);
  const judges = new JudgeStore(redis, prefix);
  const budgets = new BudgetStore(redis);

  // Conversations: plain, with an owner and an Idempotency-Key, stepped, finished.
  await store.create('plain', settings('plain'));
  await store.create('owned', settings('owned'), { owner: 'key-a', idempotencyKey: 'k1', bodyHash: 'b' });
  await redis.hset(`${prefix}:caller:key-a`, 'maxActive', '5');
  await store.create('owned-2', settings('owned-2'), { owner: 'key-a' });
  assert.equal(await store.markRunning('owned'), true);
  const owned = (await store.get('owned'))!;
  assert.equal(await store.recordStep(owned, 'cloud', 1, step(1)), true);
  assert.ok(await store.getConversation('owned'));
  assert.equal(await store.finish('owned', 'completed', 'max_turns'), true, 'the record names the owner: the script asks for its hash');
  assert.equal(await store.finish('owned-2', 'cancelled', 'cancelled', undefined, (await store.get('owned-2'))!), true);
  // The transcript's path: on a record in Redis, and not on one that is gone (no bare hash).
  assert.equal(await store.setTranscriptPath((await store.get('owned-2'))!, '/out/conversation-owned-2.csv'), true);
  assert.equal(await store.setTranscriptPath({ ...(await store.get('owned-2'))!, id: 'gone' }, '/out/gone.csv'), false);
  // A fork (its record with the parent's turn 1 copied, the parent's forks index), plain and owned with a key.
  const local = {
    prompt: 'p',
    followUp: 'f',
    model: 'llama3.2',
    inputTokens: 1,
    outputTokens: 2,
    latencyMs: 3,
    stopReason: 'stop',
    at: Date.now(),
  };
  assert.equal(await store.recordStep((await store.get('plain'))!, 'cloud', 1, step(1)), true);
  assert.equal(await store.recordStep((await store.get('plain'))!, 'local', 1, local), true);
  const parent = (await store.getConversation('plain'))!;
  const forkOf = (id: string) => ({ ...settings(id), fork: { parentId: 'plain', atTurn: 2 } });
  assert.equal((await store.fork(parent, 'fork-a', forkOf('fork-a'))).created, true);
  assert.equal(
    (await store.fork(parent, 'fork-b', forkOf('fork-b'), { owner: 'key-a', idempotencyKey: 'kf', bodyHash: 'b' })).created,
    true,
  );
  assert.equal((await store.getConversation('fork-a'))!.turns[0]!.local!.followUp, 'f');
  assert.equal((await store.forks('plain')).length, 2);

  // A run of an owner: seeds, admission, steps, a failure, a retry, a judgement, a cancel.
  assert.equal(await runs.create('r1', 'run', 2, 10, 'key-a'), true);
  // A run an upload created and then failed: removed whole (run/discard).
  assert.equal(await runs.create('r0', 'empty', 2, 10, 'key-a'), true);
  assert.equal(await runs.discardEmpty('r0', 'key-a'), true);
  // A run with nothing live is marked archived (its keys expire); one that is gone is not.
  assert.equal(await runs.create('r-done', 'done', 2, 10, 'key-a'), true);
  await runs.archiveLater('r-done');
  assert.equal(await runs.archived('r-done', 60), true);
  assert.equal((await runs.get('r-done'))?.archived !== undefined, true);
  assert.deepEqual(await runs.addSeeds('r-done', [['late', '{}']]), {
    accepted: 0,
    duplicates: 0,
    refused: 1,
    why: 'archived',
    firstRefused: 0,
  });
  assert.equal(await runs.archived('r-none', 60), false);
  await runs.setBudget('r1', { tokens: 10_000 });
  await runs.addSeeds('r1', [
    ['r1-a', '{"r":{},"h":"h"}'],
    ['r1-b', '{"r":{},"h":"h"}'],
    ['r1-c', '{"r":{},"h":"h"}'],
  ]);
  const claimed = await new RunStore(redis, prefix).claim('r1', 10);
  assert.deepEqual(
    claimed.map(([id]) => id),
    ['r1-a', 'r1-b'],
  );
  for (const [id] of claimed) assert.equal(await store.createIfAbsent(id, settings(id, 'r1'), 'key-a'), null);
  await runs.admitted('r1', ['r1-a', 'r1-b']);
  const a = (await store.get('r1-a'))!;
  assert.equal(await store.recordStep(a, 'cloud', 1, step(1)), true);
  const scopes = [
    { name: 'run r1', key: runBudgetKey(prefix, 'r1') },
    { name: 'conversation', key: conversationBudgetKey(prefix, 'r1-a'), init: { tokens: 5000 } },
  ];
  assert.deepEqual(await budgets.reserve(scopes, 'job-1', { usdNano: null, tokens: 100 }, 60_000, 60), { ok: true });
  await budgets.settle(scopes, 'job-1', { usdNano: 0, tokens: 30 });
  assert.equal(await store.finish('r1-a', 'failed', 'provider_error', 'boom'), true);
  await judges.save('r1-b', { status: 'scored', scores: { helpfulness: 4 }, model: 'judge', attempts: 1, at: Date.now() }, 60, 'r1');
  await judges.save('plain', { status: 'unscored', model: 'judge', attempts: 1, error: 'x', at: Date.now() }, 60);
  assert.equal(await runs.retry('r1', 'r1-a', '{"r":{},"h":"h"}', store.recordKeys('r1-a')), true);
  assert.equal(await store.get('r1-a'), null, "the retry deleted the record (the conversation store's fragment)");
  const r = (await runs.get('r1'))!;
  assert.equal(r.retried, 1);
  assert.equal(r.waiting, 2);
  assert.ok(r.judge);
  assert.equal(await runs.cancel('r1'), 2);

  // The model facts, the cloud limiter and the slot leases.
  assert.equal(await new ModelQuirks(redis, prefix).learn('m', ['temperature']), 1);
  const limiter = new CloudLimiter(redis, prefix);
  assert.equal(await limiter.reserve('m', { rpm: 10, tpm: 1000 }, 'call-1', 10), 0);
  await limiter.settle('m', 'call-1', 5);
  await limiter.tune('m', 'throttled');
  const leases = new SlotLeases(redis, prefix);
  const pools = [
    { id: 'http://a', slots: 1 },
    { id: 'http://b', slots: 1 },
  ];
  const at = await leases.acquire(pools, 'lease-1', 10_000);
  assert.ok(at >= 0);
  assert.equal(await leases.renew(pools[at]!.id, 'lease-1', 10_000), true);
  assert.deepEqual(
    (await leases.inUse(pools.map((p) => p.id))).reduce((x, y) => x + y, 0),
    1,
  );
  await leases.release(pools[at]!.id, 'lease-1');
  await leases.close();
}
