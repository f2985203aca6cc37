/**
 * Several callers (issue 21, part 7; docs/callers.md), against the real stack (producer, workers,
 * emulators, Redis) with a real API_KEYS_FILE in YAML: each key sees only its own conversations and
 * runs (404 for another's, never listed, never cancelled), an admin key sees all, usage per key in
 * /metrics, a key's maxActive (429) and budget (402), and run conversation ids that another caller
 * cannot compute.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { runConversationId, seedHash } from '../../runs/seed-identity';
import { startTestStack, until, type TestStack } from '../helpers/test-stack';

const KEYS = { alice: 'sk-alice-7f3a9c', bob: 'sk-bob-2e81d4', carol: 'sk-carol-5b0c66', dave: 'sk-dave-91aa03', ops: 'sk-ops-c4d2e8' };
const LEGACY = 'sk-legacy-0d9e17';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const as = (who: keyof typeof KEYS) => ({ headers: { 'x-api-key': KEYS[who] } });
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out'];
const ndjson = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

describe('security: several callers (API_KEYS_FILE)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;
  const postRun = (who: keyof typeof KEYS, route: string, rows: unknown[]) =>
    stack.http.post(route, ndjson(rows), {
      headers: { ...as(who).headers, 'content-type': 'application/x-ndjson' },
      transformRequest: [(d) => d],
    });

  /** The conversation's view once terminal, read with `who`'s key. */
  const finished = async (who: keyof typeof KEYS, id: string) => {
    let view: any;
    await until(
      async () => TERMINAL.includes((view = (await stack.http.get(`/conversation/${id}`, as(who))).data).status),
      30_000,
      `${who}'s conversation ${id}`,
    );
    return view;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-callers-'));
    const file = path.join(dir, 'keys.yaml');
    fs.writeFileSync(
      file,
      stringify({
        keys: [
          { id: 'alice', name: 'Alice', sha256: sha(KEYS.alice) },
          { id: 'bob', name: 'Bob', sha256: sha(KEYS.bob) },
          { id: 'carol', name: 'Carol', sha256: sha(KEYS.carol), maxActive: 1 },
          { id: 'dave', name: 'Dave', sha256: sha(KEYS.dave), budget: { tokens: 1 } },
          { id: 'ops', name: 'Operations', sha256: sha(KEYS.ops), role: 'admin' },
        ],
      }),
    );
    stack = await startTestStack({ API_KEYS_FILE: file, API_KEY: LEGACY });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes each key of the file, answers 401 to a key not in it, and the file holds no key', async () => {
    for (const who of Object.keys(KEYS) as (keyof typeof KEYS)[]) assert.equal((await stack.http.get('/runs', as(who))).status, 200, who);
    assert.equal((await stack.http.get('/runs', { headers: { 'x-api-key': 'sk-nobody' } })).status, 401);
    assert.equal((await stack.http.get('/runs', { headers: { 'x-api-key': sha(KEYS.alice) } })).status, 401, 'the hash is not the key');
  });

  it("B gets 404 for A's conversation and run, lists none of them and cannot cancel; the admin sees both", async () => {
    stack.ollama!.faults.set({ latencyMs: 400 });
    let convId: string;
    try {
      const created = await stack.http.post('/conversation', { initialQuery: 'Alice only', maxTurns: 2 }, as('alice'));
      assert.equal(created.status, 202, JSON.stringify(created.data));
      convId = created.data.conversationId;
      const run = await postRun('alice', '/runs?run=arun&maxTurns=1', [{ initialQuery: 'Alice run seed' }]);
      assert.equal(run.status, 202, JSON.stringify(run.data));
      assert.equal(run.data.runId, 'arun');

      // Bob: every route answers like an unknown id, in flight (DELETE) and after.
      const unknownConv = (await stack.http.get('/conversation/00000000-0000-4000-8000-000000000000', as('bob'))).data;
      for (const route of [
        `/conversation/${convId}`,
        `/conversation/${convId}/transcript`,
        `/conversation/${convId}/export?format=openai`,
        `/conversation/${convId}/events`,
        `/conversations/${convId}`,
      ]) {
        const res = await stack.http.get(route, as('bob'));
        assert.equal(res.status, 404, `bob GET ${route}: ${res.status}`);
      }
      const bobGet = await stack.http.get(`/conversation/${convId}`, as('bob'));
      assert.equal(bobGet.data.error.code, unknownConv.error.code);
      assert.equal(
        bobGet.data.error.message.replace(convId, 'ID'),
        unknownConv.error.message.replace('00000000-0000-4000-8000-000000000000', 'ID'),
        'same answer as for an unknown id',
      );
      const bobDelete = await stack.http.delete(`/conversation/${convId}`, as('bob'));
      assert.equal(bobDelete.status, 404);
      for (const route of [
        '/runs/arun',
        '/runs/arun/conversations',
        '/runs/arun/export?format=openai',
        '/runs/arun/events',
        '/runs/arun/page',
        '/runs/alice.arun',
      ]) {
        const res = await stack.http.get(route, as('bob'));
        assert.equal(res.status, 404, `bob GET ${route}: ${res.status}`);
      }
      assert.equal((await stack.http.delete('/runs/arun', as('bob'))).status, 404);
      assert.equal((await postRun('bob', '/runs/arun/seeds', [{ initialQuery: 'intruder' }])).status, 404);
      const bobConvs = (await stack.http.get('/conversations?limit=200', as('bob'))).data.conversations;
      assert.ok(!bobConvs.some((c: any) => c.conversationId === convId), "not in bob's list");
      const bobRuns = (await stack.http.get('/runs', as('bob'))).data.runs;
      assert.deepEqual(bobRuns, []);

      // Alice sees hers; her run under the id she chose.
      assert.equal((await stack.http.get(`/conversation/${convId}`, as('alice'))).status, 200);
      assert.ok((await stack.http.get('/conversations', as('alice'))).data.conversations.some((c: any) => c.conversationId === convId));
      const aliceRuns = (await stack.http.get('/runs', as('alice'))).data.runs;
      assert.deepEqual(
        aliceRuns.map((r: any) => r.runId),
        ['arun'],
      );
      assert.equal(aliceRuns[0].statusUrl, '/runs/arun');

      // The admin sees both, the run qualified by its owner.
      assert.equal((await stack.http.get(`/conversation/${convId}`, as('ops'))).status, 200);
      assert.ok((await stack.http.get('/conversations', as('ops'))).data.conversations.some((c: any) => c.conversationId === convId));
      assert.ok((await stack.http.get('/runs', as('ops'))).data.runs.some((r: any) => r.runId === 'alice.arun'));
      assert.equal((await stack.http.get('/runs/alice.arun', as('ops'))).status, 200);
    } finally {
      stack.ollama!.faults.reset();
    }
    // Bob's DELETE changed nothing: it ends on its own.
    const final = await finished('alice', convId);
    assert.equal(final.status, 'completed', JSON.stringify(final).slice(0, 300));
  });

  it("ids of B's run for the same run id and seed differ from A's, and cannot be computed from them; A's resume keeps its ids", async () => {
    const seed = { initialQuery: 'Same seed for both' };
    const a = await postRun('alice', '/runs?run=shared-name&maxTurns=1', [seed]);
    const b = await postRun('bob', '/runs?run=shared-name&maxTurns=1', [seed]);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.data.accepted, 1, "bob's run is his own, not a duplicate of alice's");
    const ids = async (who: 'alice' | 'bob') => {
      let page: any;
      await until(
        async () => (page = (await stack.http.get('/runs/shared-name/conversations', as(who))).data).conversations?.length === 1,
        10_000,
        `${who}'s admission`,
      );
      return page.conversations[0].conversationId as string;
    };
    const [aliceId, bobId] = [await ids('alice'), await ids('bob')];
    assert.notEqual(aliceId, bobId);
    // The unkeyed derivation (what was used before callers) gives neither.
    const hash = seedHash({ maxTurns: 1, ...seed });
    for (const runId of ['shared-name', 'alice.shared-name', 'bob.shared-name']) {
      assert.notEqual(runConversationId(runId, hash), aliceId);
      assert.notEqual(runConversationId(runId, hash), bobId);
    }
    assert.equal((await stack.http.get(`/conversation/${aliceId}`, as('bob'))).status, 404);
    // Her live progress names the run as she does (the feed is shared per stored run).
    const events = await stack.http.get('/runs/shared-name/events', { ...as('alice'), responseType: 'stream' });
    assert.equal(events.status, 200);
    const firstChunk = await new Promise<string>((resolve) => events.data.once('data', (d: Buffer) => resolve(d.toString())));
    events.data.destroy();
    assert.match(firstChunk, /"runId":"shared-name"/);
    assert.doesNotMatch(firstChunk, /alice\.shared-name/);
    // Alice resubmits her file: the same ids, nothing added twice.
    const again = await postRun('alice', '/runs?run=shared-name&maxTurns=1', [seed]);
    assert.deepEqual([again.data.accepted, again.data.duplicates], [0, 1]);
  });

  it("an Idempotency-Key is the caller's own; the same key with a different body is a 422 naming the header", async () => {
    const key = { 'idempotency-key': 'order-42' };
    const body = { initialQuery: 'Idempotent question', maxTurns: 1 };
    const first = await stack.http.post('/conversation', body, { headers: { ...as('alice').headers, ...key } });
    assert.equal(first.status, 202);
    // The same body, keys in another order: the first conversation.
    const replay = await stack.http.post(
      '/conversation',
      { maxTurns: 1, initialQuery: 'Idempotent question' },
      { headers: { ...as('alice').headers, ...key } },
    );
    assert.equal(replay.status, 202);
    assert.equal(replay.data.conversationId, first.data.conversationId);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const changed = await stack.http.post('/conversation', { ...body, maxTurns: 2 }, { headers: { ...as('alice').headers, ...key } });
    assert.equal(changed.status, 422, JSON.stringify(changed.data));
    assert.equal(changed.data.error.code, 'idempotency_key_reused');
    assert.match(changed.data.error.message, /Idempotency-Key/);
    // Bob's order-42 is another conversation, his own.
    const bob = await stack.http.post('/conversation', { ...body, maxTurns: 2 }, { headers: { ...as('bob').headers, ...key } });
    assert.equal(bob.status, 202);
    assert.notEqual(bob.data.conversationId, first.data.conversationId);
    assert.equal(bob.headers['idempotent-replayed'], undefined);
    assert.equal((await stack.http.get(`/conversation/${bob.data.conversationId}`, as('bob'))).status, 200);
  });

  it('API_KEY beside the file is an admin that records no owner; a different body under its Idempotency-Key is a 422 too', async () => {
    const legacy = { headers: { 'x-api-key': LEGACY, 'idempotency-key': 'legacy-1' } };
    const first = await stack.http.post('/conversation', { initialQuery: 'From the old key', maxTurns: 1 }, legacy);
    assert.equal(first.status, 202);
    assert.equal(
      (await stack.http.post('/conversation', { initialQuery: 'From the old key', maxTurns: 1 }, legacy)).data.conversationId,
      first.data.conversationId,
    );
    const changed = await stack.http.post('/conversation', { initialQuery: 'Something else', maxTurns: 1 }, legacy);
    assert.equal(changed.status, 422);
    // An admin: it sees the file's callers' runs; its own conversation is no caller's.
    assert.ok((await stack.http.get('/runs', { headers: { 'x-api-key': LEGACY } })).data.runs.some((r: any) => r.runId === 'alice.arun'));
    assert.equal((await stack.http.get(`/conversation/${first.data.conversationId}`, as('alice'))).status, 404);
    assert.equal((await stack.http.get(`/conversation/${first.data.conversationId}`, as('ops'))).status, 200);
  });

  it("a key's maxActive bounds its conversations in flight: 429 naming the limit, and the slot comes back", async () => {
    stack.ollama!.faults.set({ latencyMs: 1500 });
    try {
      const first = await stack.http.post('/conversation', { initialQuery: 'Slow one', maxTurns: 1 }, as('carol'));
      assert.equal(first.status, 202);
      const second = await stack.http.post('/conversation', { initialQuery: 'One too many', maxTurns: 1 }, as('carol'));
      assert.equal(second.status, 429, JSON.stringify(second.data));
      assert.equal(second.data.error.code, 'caller_max_active');
      assert.match(second.data.error.message, /maxActive of 1 \(API_KEYS_FILE\)/);
      // Other keys are not bounded by carol's limit.
      assert.equal((await stack.http.post('/conversation', { initialQuery: 'Alice is free', maxTurns: 1 }, as('alice'))).status, 202);
      assert.equal((await finished('carol', first.data.conversationId)).status, 'completed');
    } finally {
      stack.ollama!.faults.reset();
    }
    const third = await stack.http.post('/conversation', { initialQuery: 'Now there is room', maxTurns: 1 }, as('carol'));
    assert.equal(third.status, 202, JSON.stringify(third.data));
    assert.equal((await finished('carol', third.data.conversationId)).status, 'completed');

    // A run of hers admits within her slots too, whatever the run's own maxActive, and still finishes.
    stack.ollama!.faults.set({ latencyMs: 300 });
    try {
      const run = await postRun('carol', '/runs?run=carols&maxTurns=1&maxActive=3', [
        { initialQuery: 'c1' },
        { initialQuery: 'c2' },
        { initialQuery: 'c3' },
      ]);
      assert.equal(run.status, 202, JSON.stringify(run.data));
      let most = 0;
      let view: any;
      await until(
        async () => {
          view = (await stack.http.get('/runs/carols', as('carol'))).data;
          most = Math.max(most, view.active);
          return view.state === 'finished';
        },
        30_000,
        "carol's run",
      );
      assert.equal(most, 1, 'never more than her maxActive in flight');
      assert.equal(view.byStatus.completed, 3);
    } finally {
      stack.ollama!.faults.reset();
    }
  });

  it("a key's budget stops its calls (budget_exhausted) and then refuses its new work with 402 naming the budget", async () => {
    const res = await stack.http.post(
      '/conversation',
      { initialQuery: 'Over budget', maxTurns: 1 },
      { headers: { ...as('dave').headers, 'idempotency-key': 'dave-1' } },
    );
    assert.equal(res.status, 202);
    const view = await finished('dave', res.data.conversationId);
    assert.equal(view.stopReason, 'budget_exhausted', JSON.stringify(view).slice(0, 400));
    const next = await stack.http.post('/conversation', { initialQuery: 'Again', maxTurns: 1 }, as('dave'));
    assert.equal(next.status, 402, JSON.stringify(next.data));
    assert.equal(next.data.error.code, 'caller_budget_exhausted');
    assert.match(next.data.error.message, /budget of API key "dave".*API_KEYS_FILE/);
    assert.equal((await postRun('dave', '/runs?maxTurns=1', [{ initialQuery: 'a run' }])).status, 402);
    // A retry of the first request still gets the first conversation.
    const replay = await stack.http.post(
      '/conversation',
      { initialQuery: 'Over budget', maxTurns: 1 },
      { headers: { ...as('dave').headers, 'idempotency-key': 'dave-1' } },
    );
    assert.equal(replay.status, 202, JSON.stringify(replay.data));
    assert.equal(replay.data.conversationId, res.data.conversationId);
  });

  it('/metrics shows usage per key (file entries only) to admins, and is refused to other keys', async () => {
    const conv = await stack.http.post('/conversation', { initialQuery: 'Counted', maxTurns: 1 }, as('bob'));
    assert.equal((await finished('bob', conv.data.conversationId)).status, 'completed');
    assert.equal((await stack.http.get('/metrics', as('bob'))).status, 403);
    const text: string = (await stack.http.get('/metrics', as('ops'))).data;
    const value = (name: string, key: string) => {
      const m = new RegExp(`^llmconv_${name}\\{[^}]*key="${key}"[^}]*\\} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    // Bob: 2 conversations (idempotency test, this one) and 1 run admitted one more; 1 run.
    assert.ok(
      value('caller_conversations_total', 'bob')! >= 3,
      text
        .split('\n')
        .filter((l) => l.includes('caller_'))
        .join('\n'),
    );
    assert.equal(value('caller_runs_total', 'bob'), 1);
    assert.ok(value('caller_calls_total', 'bob')! >= 2);
    assert.ok(value('caller_tokens_total', 'bob')! > 0);
    assert.ok(value('caller_cost_usd_total', 'bob')! > 0);
    assert.equal(value('caller_active', 'carol') !== undefined, true);
    const keys = new Set([...text.matchAll(/^llmconv_caller_\w+\{[^}]*key="([^"]+)"/gm)].map((m) => m[1]));
    assert.deepEqual([...keys].sort(), ['alice', 'bob', 'carol', 'dave', 'ops']);
  });
});
