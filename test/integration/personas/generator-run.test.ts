/**
 * `POST /runs` with a generator instead of a seed file (runs/seed-generator.ts), through the real
 * producer, Redis, workers and emulators: personas × topics seeds, the same generator giving the
 * same seeds (a resume adds nothing), 10,000 seeds with no file, lists from SAMPLER_DIR only, and
 * the persona, goal and the generator's provenance in the export.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

async function waitForRun(stack: TestStack, runId: string, timeoutMs = 60_000): Promise<any> {
  let view: any;
  await until(
    async () => {
      view = (await stack.http.get(`/runs/${runId}`)).data;
      return view.state !== 'active';
    },
    timeoutMs,
    `run ${runId} to finish`,
  );
  return view;
}

describe('run generators (real Redis, HTTP, emulators, workers)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-sampler-'));
    fs.writeFileSync(
      path.join(dir, 'personas.jsonl'),
      '{"role": "nurse", "language": "English"}\n"a retired sailor"\n\nplain text persona\n',
    );
    stack = await startTestStack({ SAMPLER_DIR: dir, RUN_MAX_SEEDS: '20000' });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const generator = {
    personas: [{ role: 'teacher', style: 'terse' }, 'a curious child', { role: 'engineer', expertise: 'databases' }],
    topics: ['How do vaccines work?', 'Why is the sky blue?'],
    goals: ['understand it well enough to explain it'],
    count: 6,
    seed: 42,
  };

  it('personas × topics, each pair once; the same generator again adds nothing; the export carries persona, goal and provenance', async () => {
    const first = await stack.http.post('/runs', { generator, maxTurns: 1, maxActive: 6, name: 'gen' });
    assert.equal(first.status, 202, JSON.stringify(first.data));
    assert.equal(first.data.accepted, 6);
    const runId = first.data.runId;
    const view = await waitForRun(stack, runId);
    assert.equal(view.byStatus.completed, 6);
    assert.equal(view.settings.maxTurns, 1);
    const again = await stack.http.post(`/runs?run=${runId}`, { generator });
    assert.equal(again.status, 202, JSON.stringify(again.data));
    assert.equal(again.data.accepted, 0);
    assert.equal(again.data.duplicates, 6);
    const res = await stack.http.get(`/runs/${runId}/export?format=openai&metadata=true`, { responseType: 'text' });
    assert.equal(res.status, 200);
    const lines = (res.data as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 6);
    const pairs = new Set(lines.map((l) => `${l.metadata.meta.generator.persona}/${l.metadata.meta.generator.topic}`));
    assert.equal(pairs.size, 6, 'count = personas × topics: every pair once');
    for (const l of lines) {
      assert.equal(l.metadata.goal, generator.goals[0]);
      assert.deepEqual(l.metadata.persona, generator.personas[l.metadata.meta.generator.persona]);
      assert.equal(l.metadata.meta.generator.seed, 42);
    }
  });

  it('the same seed gives the same seeds in any run, and the same conversation ids on a resume; another seed another order', async () => {
    const run = async (seed: number, id: string) => {
      const r = await stack.http.post(`/runs?run=${id}`, { generator: { ...generator, seed }, maxTurns: 1, maxActive: 6 });
      assert.equal(r.status, 202, JSON.stringify(r.data));
      await waitForRun(stack, id);
      const page = await stack.http.get(`/runs/${id}/conversations?limit=100`);
      const text = (await stack.http.get(`/runs/${id}/export?format=openai&metadata=true`, { responseType: 'text' })).data as string;
      const order = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).metadata)
        .sort((x: any, y: any) => x.meta.generator.index - y.meta.generator.index)
        .map((m: any) => `${m.meta.generator.index}:${m.meta.generator.persona}/${m.meta.generator.topic}:${m.seedHash}`);
      const ids = JSON.stringify(page.data.conversations.map((c: any) => c.conversationId).sort());
      return { accepted: r.data.accepted, order, ids };
    };
    const a = await run(7, 'gen-seed-a');
    const resumed = await run(7, 'gen-seed-a');
    assert.equal(resumed.accepted, 0);
    assert.equal(resumed.ids, a.ids, 'a resume: the same conversation ids, nothing added');
    const c = await run(7, 'gen-seed-c');
    assert.deepEqual(c.order, a.order, 'the same seed: the same seeds (index, pair, seed hash) in another run');
    const b = await run(8, 'gen-seed-b');
    assert.notDeepEqual(b.order, a.order);
  });

  it('10,000 seeds with no seed file, accepted in one request', async () => {
    const big = {
      personas: generator.personas,
      topics: Array.from({ length: 50 }, (_, i) => `Question number ${i}?`),
      count: 10_000,
      seed: 1,
    };
    const r = await stack.http.post('/runs?run=gen-big', { generator: big, maxTurns: 1, maxActive: 2 });
    assert.equal(r.status, 202, JSON.stringify(r.data));
    assert.equal(r.data.accepted, 10_000);
    assert.equal(r.data.rejected, 0);
    const cancel = await stack.http.delete('/runs/gen-big');
    assert.ok(cancel.status < 300, JSON.stringify(cancel.data));
  });

  it('lists from SAMPLER_DIR (JSON Lines or plain lines); a file outside it, or a bad generator, is a 400 naming the field', async () => {
    const r = await stack.http.post('/runs', {
      generator: { personas: { file: 'personas.jsonl' }, topics: ['Why?'], count: 3, seed: 3 },
      maxTurns: 1,
    });
    assert.equal(r.status, 202, JSON.stringify(r.data));
    assert.equal(r.data.accepted, 3);
    const outside = await stack.http.post('/runs', {
      generator: { personas: { file: '../etc/passwd' }, topics: ['Why?'], count: 1, seed: 1 },
    });
    assert.equal(outside.status, 400);
    assert.match(outside.data.error.message, /personas\.file: must name a file inside SAMPLER_DIR/);
    const bad = await stack.http.post('/runs', { generator: { topics: [], count: 1, seed: 1 } });
    assert.equal(bad.status, 400);
    assert.match(bad.data.error.message, /topics/);
    const noCount = await stack.http.post('/runs', { generator: { topics: ['x'], seed: 1 } });
    assert.equal(noCount.status, 400);
    assert.match(noCount.data.error.message, /count/);
  });

  it('a JSON Lines upload as application/json is still read as seeds', async () => {
    const body = '{"initialQuery": "What is a lighthouse?"}\n{"initialQuery": "What is a harbour?"}\n';
    const r = await stack.http.post('/runs?maxTurns=1', body, {
      headers: { 'content-type': 'application/json' },
      transformRequest: [(d) => d],
    });
    assert.equal(r.status, 202, JSON.stringify(r.data));
    assert.equal(r.data.accepted, 2);
  });
});
