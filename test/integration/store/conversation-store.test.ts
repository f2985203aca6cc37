import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import type { CloudStep, ConversationSettings, LocalStep } from '../../../conversation/model';
import { ConversationStore } from '../../../store/conversation-store';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import { blocksWindowStart, historyOf } from '../../../conversation/turn-rules';

describe('ConversationStore (real Redis)', () => {
  let redis: Redis;
  let store: ConversationStore;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(testRedisUrl());
    prefix = uniquePrefix('store');
    store = new ConversationStore(redis, { prefix, retentionSeconds: 600, recentLimit: 3 });
  });
  afterEach(() => redis.disconnect());

  const settings = (id: string, extra: Partial<ConversationSettings> = {}): ConversationSettings => ({
    initialQuery: 'Why is the sky blue? Explain it to me as if I were ten years old, please, with an example.',
    outputFile: `conversation-${id}.csv`,
    maxTurns: 5,
    timeoutMinutes: 30,
    cloudModel: 'anthropic.claude-3-haiku-20240307-v1:0',
    localModel: 'llama3.2',
    contextTurns: 1,
    templates: { ...DEFAULT_TEMPLATES },
    systemPrompts: {},
    ...extra,
  });
  const cloudStep = (t0: number, k: number, model = 'anthropic.claude-3-haiku-20240307-v1:0'): CloudStep => ({
    question: `question ${k} `.repeat(10),
    answer: `answer ${k} `.repeat(20),
    model,
    inputTokens: 10 + k,
    outputTokens: 20 + k,
    latencyMs: 5,
    stopReason: 'end_turn',
    startedAt: t0 + 100 * k,
    at: t0 + 100 * k + 5,
  });
  const localStep = (t0: number, k: number): LocalStep => ({
    prompt: `prompt ${k} `.repeat(10),
    followUp: `follow-up ${k} `.repeat(10),
    model: 'llama3.2',
    inputTokens: 30 + k,
    outputTokens: 40 + k,
    latencyMs: 7,
    stopReason: 'stop',
    at: t0 + 100 * k + 50,
  });

  it('round-trips a conversation and keeps its hash in the compact encoding', async () => {
    const id = 'a1';
    const { record } = await store.create(id, settings(id));
    const got = (await store.get(id))!;
    const defined = (o: object) => JSON.parse(JSON.stringify(o)) as unknown;
    assert.deepEqual(defined(got), defined(record!));
    assert.equal(got.deadline, got.createdAt + 30 * 60_000);
    for (let k = 1; k <= 5; k++) {
      assert.equal(await store.recordStep(got, 'cloud', k, cloudStep(got.createdAt, k, k === 3 ? 'other-model' : undefined)), true);
      assert.equal(await store.recordStep(got, 'local', k, localStep(got.createdAt, k)), true);
    }
    assert.equal(await store.recordStep(got, 'cloud', 2, cloudStep(0, 99)), false, 'a step records once');
    await store.setPendingStop(id, 'max_turns');
    assert.equal(await store.finish(id, 'completed', 'max_turns'), true);
    await store.setTranscriptPath(got, `/var/lib/llmconv/output/conversation-${id}.csv`);

    const { record: done, turns } = (await store.getConversation(id))!;
    assert.equal(done.status, 'completed');
    assert.equal(done.pendingStop, undefined, 'pendingStop is dropped once terminal');
    assert.equal(done.transcriptPath, `/var/lib/llmconv/output/conversation-${id}.csv`);
    assert.deepEqual(
      turns.map((t) => t.turn),
      [1, 2, 3, 4, 5],
    );
    for (const t of turns) {
      assert.deepEqual(t.cloud, cloudStep(got.createdAt, t.turn, t.turn === 3 ? 'other-model' : undefined));
      assert.deepEqual(t.local, localStep(got.createdAt, t.turn));
    }
    // Every value ≤ 64 bytes: Redis keeps the conversation hash as a listpack (see record-codec.ts).
    assert.equal(await redis.object('ENCODING', `${prefix}:conv:{${id}}`), 'listpack');
    const ttl = await redis.ttl(`${prefix}:conv:{${id}}:turns`);
    assert.ok(ttl > 0 && ttl <= 600, `the steps expire with the conversation (ttl ${ttl})`);
  });

  it('loads for a `blocks` step the block range its policy keeps, no more (the Lua loader and turn-rules agree)', async () => {
    const id = 'wb';
    // Texts of varied length, some of them not ASCII (the budget counts UTF-8 bytes).
    const sized = (k: number, salt: number) => 'é'.repeat(((k * 37 + salt * 11) % 23) * 20 + 1);
    const { record } = await store.create(id, settings(id, { contextTurns: 2, contextPolicy: 'blocks', contextTokens: 300 }));
    const t0 = record!.createdAt;
    for (let k = 1; k <= 14; k++) {
      await store.recordStep(record!, 'cloud', k, { ...cloudStep(t0, k), question: sized(k, 1), answer: sized(k, 2) });
      if (k < 14) await store.recordStep(record!, 'local', k, { ...localStep(t0, k), prompt: sized(k, 3), followUp: sized(k, 4) });
    }
    const all = (await store.getConversation(id))!;
    let partial = 0;
    for (let turn = 2; turn <= 14; turn++) {
      const loaded = (await store.loadStep(id, turn))!;
      const from = Math.min(blocksWindowStart('cloud', all.turns, turn, 2, 300), blocksWindowStart('local', all.turns, turn, 2, 300));
      assert.deepEqual(
        loaded.turns.map((t) => t.turn),
        all.turns.filter((t) => t.turn >= from && t.turn <= turn).map((t) => t.turn),
        `turn ${turn}`,
      );
      for (const side of ['cloud', 'local'] as const) {
        assert.deepEqual(
          historyOf(side, loaded.turns, turn, loaded.record.settings),
          historyOf(side, all.turns, turn, all.record.settings),
        );
      }
      if (from > 1) partial++;
    }
    assert.ok(partial >= 5, `most late steps read a part of the history (${partial} of 13)`);
  });

  it('loads a step with only its history window, and reads single steps', async () => {
    const id = 'w1';
    const { record } = await store.create(id, settings(id, { contextTurns: 2 }));
    for (let k = 1; k <= 6; k++) {
      await store.recordStep(record!, 'cloud', k, cloudStep(record!.createdAt, k));
      if (k < 6) await store.recordStep(record!, 'local', k, localStep(record!.createdAt, k));
    }
    const loaded = (await store.loadStep(id, 6))!;
    assert.equal(loaded.record.settings.initialQuery, record!.settings.initialQuery);
    assert.deepEqual(
      loaded.turns.map((t) => [t.turn, Boolean(t.cloud), Boolean(t.local)]),
      [
        [4, true, true],
        [5, true, true],
        [6, true, false],
      ],
    );
    assert.deepEqual(await store.getStep(record!, 'local', 2), localStep(record!.createdAt, 2));
    assert.equal(await store.getStep(record!, 'local', 6), null);
    assert.equal(await store.hasStep(record!, 'cloud', 6), true);
    assert.equal(await store.hasStep(record!, 'local', 6), false);
    assert.equal(await store.loadStep('nope', 1), null);
    assert.equal(await store.getConversation('nope'), null);
  });

  it('transcript paths: a custom name is kept; a store without the cache finds the directory in Redis', async () => {
    const id = 't1';
    const { record } = await store.create(id, settings(id));
    await store.setTranscriptPath(record!, `/srv/out/other-${id}.csv`);
    const fresh = new ConversationStore(redis, { prefix, retentionSeconds: 600 });
    assert.equal((await fresh.get(id))!.transcriptPath, `/srv/out/other-${id}.csv`);
    assert.match((await redis.hget(`${prefix}:conv:{${id}}`, 'transcript')) ?? '', /^[0-9a-f]{12}\/other-t1\.csv$/);
    await redis.del(`${prefix}:output-dirs`);
    const blind = new ConversationStore(redis, { prefix, retentionSeconds: 600 });
    assert.equal((await blind.get(id))!.transcriptPath, `other-${id}.csv`, 'without the registry the name is all there is');
  });

  it('lists the latest conversations, newest first, trimmed', async () => {
    for (const id of ['r1', 'r2', 'r3', 'r4']) await store.create(id, settings(id));
    await store.create('r5', settings('r5'), 'idem-key');
    assert.deepEqual(await store.recent(10), ['r5', 'r4', 'r3']);
    assert.deepEqual(await store.recent(2), ['r5', 'r4']);
  });

  it('reads records of format 1 (settings JSON, cloud:<k> steps) and records their later steps in format 1', async () => {
    const id = 'old1';
    const s = settings(id);
    const t0 = 1_790_000_000_000;
    await redis.hset(`${prefix}:conv:{${id}}`, {
      status: 'running',
      createdAt: t0,
      updatedAt: t0,
      deadline: t0 + 1_800_000,
      settings: JSON.stringify({
        initialQuery: s.initialQuery,
        maxTurns: 5,
        timeoutMinutes: 30,
        cloudModel: s.cloudModel,
        localModel: s.localModel,
        contextTurns: 1,
      }),
      transcriptPath: '/old/place/x.csv',
    });
    const c1 = cloudStep(t0, 1);
    const l1 = localStep(t0, 1);
    await redis.hset(`${prefix}:conv:{${id}}:turns`, {
      'cloud:1': JSON.stringify([
        c1.question,
        c1.answer,
        c1.model,
        c1.inputTokens,
        c1.outputTokens,
        c1.latencyMs,
        c1.stopReason,
        c1.startedAt,
        c1.at,
      ]),
      'local:1': JSON.stringify(l1),
      'cloud:2': JSON.stringify(cloudStep(t0, 2)),
    });
    const rec = (await store.get(id))!;
    assert.equal(rec.format, 1);
    assert.deepEqual(rec.settings, s);
    assert.equal(rec.deadline, t0 + 1_800_000);
    assert.equal(rec.transcriptPath, '/old/place/x.csv');
    const all = (await store.getConversation(id))!.turns;
    assert.deepEqual(all[0], { turn: 1, cloud: c1, local: l1 });
    assert.deepEqual(
      (await store.loadStep(id, 2))!.turns.map((t) => t.turn),
      [1, 2],
    );
    assert.deepEqual(await store.getStep(rec, 'cloud', 2), cloudStep(t0, 2));
    assert.equal(await store.recordStep(rec, 'local', 2, localStep(t0, 2)), true);
    assert.ok(await redis.hexists(`${prefix}:conv:{${id}}:turns`, 'local:2'));
    assert.deepEqual((await store.loadStep(id, 2))!.turns[1], { turn: 2, cloud: cloudStep(t0, 2), local: localStep(t0, 2) });
  });

  // store/lua/conversation/finish.lua and record-step.lua declare the run's and the owner's hashes
  // in KEYS (a Cluster refuses undeclared keys): the caller names them from the record it has,
  // and a caller that names none, or the wrong ones, gets the right ones and runs the script again.
  it("finish and recordStep count in the conversation's run and owner, declared from the record or learned from the script", async () => {
    const evalshas = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const runKey = `${prefix}:run:r1`;
    await redis.hset(runKey, 'id', 'r1', 'active', 2, 'tokens', 0);
    await redis.hset(`${prefix}:caller:k1`, 'active', 2);
    const run = { id: 'r1', seedHash: 'h' };
    for (const id of ['c1', 'c2']) assert.equal(await store.createIfAbsent(id, settings(id, { run }), 'k1'), null);
    const rec = (await store.get('c1'))!;
    assert.equal(rec.owner, 'k1');
    assert.deepEqual(rec.settings.run, run);

    let before = await evalshas();
    assert.equal(await store.recordStep(rec, 'cloud', 1, cloudStep(rec.createdAt, 1)), true);
    assert.equal((await evalshas()) - before, 1, 'the record names the run: one call');
    before = await evalshas();
    const stale = { ...rec, settings: { ...rec.settings, run: undefined } };
    assert.equal(await store.recordStep(stale, 'local', 1, localStep(rec.createdAt, 1)), true);
    assert.equal((await evalshas()) - before, 2, 'a record without the run: the script names it, a second call');
    assert.equal(await redis.hget(runKey, 'tokens'), String(11 + 21 + 31 + 41));

    before = await evalshas();
    assert.equal(await store.finish('c1', 'completed', 'max_turns', undefined, rec), true);
    assert.equal((await evalshas()) - before, 1);
    before = await evalshas();
    assert.equal(await store.finish('c2', 'failed', 'provider_error', 'boom'), true);
    assert.equal((await evalshas()) - before, 2);
    assert.equal(await store.finish('c2', 'failed', 'provider_error', 'boom'), false, 'once');
    const h = await redis.hgetall(runKey);
    assert.deepEqual([h.active, h['n:completed'], h['n:failed'], h['r:max_turns'], h['r:provider_error']], ['0', '1', '1', '1', '1']);
    assert.equal(await redis.hget(`${prefix}:caller:k1`, 'active'), '0');

    // Without a run or an owner: nothing but the conversation's own keys.
    await store.create('c3', settings('c3'));
    assert.equal(await store.finish('c3', 'completed', 'max_turns', undefined, (await store.get('c3'))!), true);
    assert.equal(await redis.hget(`${prefix}:caller:k1`, 'active'), '0');
    assert.equal(await redis.hget(runKey, 'active'), '0');
  });
});
