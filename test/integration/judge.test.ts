/**
 * The judge role through the real pipeline: a finished conversation is scored against a rubric
 * file by the cloud model (Bedrock emulator behind the local API Gateway and the real Lambda
 * handler), the scores stored and shown in GET /conversation/:id. The emulator answers the judge's
 * answer format with deterministic scores (emulators/README.md); `[emulate:judge-garbage]` makes
 * it answer prose, which is asked again and then recorded as unscored.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';

describe('judge (real pipeline, emulators)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-judge-'));
    const rubric = path.join(dir, 'rubric.json');
    fs.writeFileSync(
      rubric,
      JSON.stringify({
        criteria: [
          { name: 'helpfulness', description: 'Do the answers help?' },
          { name: 'coherence', description: 'Does it stay on topic?' },
        ],
        scale: { min: 1, max: 5 },
        prompt: 'Rate this conversation on each criterion.\n{{criteria}}\n\n{{transcript}}',
      }),
    );
    stack = await startTestStack({ JUDGE_RUBRIC_FILE: rubric, JOB_ATTEMPTS: '3' });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function judged(body: Record<string, unknown>) {
    const res = await stack.http.post('/conversation', body);
    assert.equal(res.status, 202);
    await waitForConversation(stack, res.data.conversationId, 60_000);
    let view: any;
    await until(async () => {
      view = (await stack.http.get(`/conversation/${res.data.conversationId}`)).data;
      return view.judge !== undefined;
    }, 30_000);
    return view;
  }

  it('a finished conversation gets a score per criterion within the scale, the same for the same conversation', async () => {
    const view = await judged({ initialQuery: 'What makes a good API?', maxTurns: 2 });
    assert.equal(view.judge.status, 'scored');
    assert.deepEqual(Object.keys(view.judge.scores).sort(), ['coherence', 'helpfulness']);
    for (const v of Object.values(view.judge.scores) as number[]) assert.ok(Number.isInteger(v) && v >= 1 && v <= 5);
    assert.equal(view.judge.attempts, 1);
    // The judge asks the cloud model (JUDGE_MODEL unset: BEDROCK_MODEL_ID, the catalogue-chosen default).
    assert.equal(view.judge.model, 'amazon.nova-micro-v1:0');
    const again = await judged({ initialQuery: 'What makes a good API?', maxTurns: 2 });
    assert.deepEqual(again.judge.scores, view.judge.scores, 'deterministic emulator, same transcript → same scores');
  });

  it('an unparseable judge answer is asked again, then recorded unscored with the reason, never a score', async () => {
    const view = await judged({ initialQuery: 'Tell me a story. [emulate:judge-garbage]', maxTurns: 1 });
    assert.equal(view.judge.status, 'unscored');
    assert.equal(view.judge.scores, null);
    assert.equal(view.judge.attempts, 3);
    assert.match(view.judge.error, /no score for every criterion within 1-5/);
  });

  it('a judged run: a summary per criterion in GET /runs/:id, scores in the export, and an export filter on them', async () => {
    const seeds = [
      'Why do leaves change colour?',
      'How do tides work?',
      'What is a prime number?',
      'Tell me a joke. [emulate:judge-garbage]',
    ];
    const up = await stack.http.post(
      '/runs?maxTurns=1&maxActive=4',
      seeds.map((q) => JSON.stringify({ initialQuery: q })).join('\n') + '\n',
      {
        headers: { 'content-type': 'application/x-ndjson' },
        transformRequest: [(d) => d],
      },
    );
    assert.equal(up.status, 202, JSON.stringify(up.data));
    const runId = up.data.runId as string;
    let view: any;
    await until(
      async () => {
        view = (await stack.http.get(`/runs/${runId}`)).data;
        return view.judge !== null && view.judge.scored + view.judge.unscored === seeds.length;
      },
      60_000,
      'every conversation of the run judged',
    );
    assert.equal(view.judge.scored, 3);
    assert.equal(view.judge.unscored, 1);
    // Per criterion: the counts per score add up to the scored conversations, and the mean is theirs.
    const lines = String((await stack.http.get(`/runs/${runId}/export?format=openai&metadata=true`, { responseType: 'text' })).data)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const scored = lines.filter((l) => l.metadata.judge?.status === 'scored');
    assert.equal(scored.length, 3);
    for (const c of ['helpfulness', 'coherence']) {
      const dist = view.judge.criteria[c].distribution as Record<string, number>;
      assert.equal(
        Object.values(dist).reduce((a, b) => a + b, 0),
        3,
        c,
      );
      const mean = scored.reduce((a, l) => a + l.metadata.judge.scores[c], 0) / 3;
      assert.equal(view.judge.criteria[c].mean, Math.round(mean * 100) / 100, c);
    }
    assert.equal(lines.find((l) => l.metadata.judge?.status === 'unscored')?.metadata.judge.scores, undefined);
    for (const l of lines) assert.equal(typeof l.metadata.costUsd.total, 'number');
    // The filter keeps exactly the conversations whose score holds; an unscored one never passes.
    const threshold = Math.min(...scored.map((l) => l.metadata.judge.scores.helpfulness as number));
    const kept = String(
      (
        await stack.http.get(
          `/runs/${runId}/export?format=openai&metadata=true&filter=${encodeURIComponent(`score.helpfulness>=${threshold + 1}`)}`,
          {
            responseType: 'text',
          },
        )
      ).data,
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.equal(kept.length, scored.filter((l) => l.metadata.judge.scores.helpfulness >= threshold + 1).length);
    for (const l of kept) assert.ok(l.metadata.judge.scores.helpfulness >= threshold + 1);
    const bad = await stack.http.get(`/runs/${runId}/export?format=openai&filter=helpfulness>4`);
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.data), /filter must be score\.<criterion>/);
  });
});

describe('judge: the rubric prefix read from the prompt cache (real pipeline, Bedrock emulator)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;
  // Nova Micro caches from 1,000 tokens per checkpoint (Bedrock user guide, prompt-caching page,
  // read 2026-12-03); the emulator counts a token a word: a 1,100-word guide is cached.
  const guide = Array.from({ length: 1100 }, (_, i) => `guide${i % 7}`).join(' ');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-judge-cache-'));
    const rubric = path.join(dir, 'rubric.json');
    fs.writeFileSync(
      rubric,
      JSON.stringify({
        criteria: [{ name: 'helpfulness', description: 'Do the answers help?' }],
        scale: { min: 1, max: 5 },
        prompt: `Rate this conversation.\n${guide}\n{{criteria}}\n\n{{transcript}}`,
      }),
    );
    stack = await startTestStack({ JUDGE_RUBRIC_FILE: rubric, BEDROCK_MODEL_ID: 'amazon.nova-micro-v1:0' });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cacheTokens = async (direction: string) => {
    const metrics = (await stack.http.get('/metrics')).data as string;
    const line = metrics.split('\n').find((l) => l.startsWith('llmconv_llm_tokens_total{') && l.includes(`direction="${direction}"`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it("the second conversation's judging call reads the rubric the first one wrote, in /metrics; `cache: false` sends no checkpoint", async () => {
    // One turn, no system prompt: the conversations themselves cache nothing (below Nova's
    // minimum), every cached token is the judge's.
    const judge = async (body: Record<string, unknown>) => {
      const res = await stack.http.post('/conversation', { maxTurns: 1, ...body });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      await waitForConversation(stack, res.data.conversationId, 60_000);
      await until(async () => (await stack.http.get(`/conversation/${res.data.conversationId}`)).data.judge !== undefined, 30_000);
    };
    // `cache: false` turns the judge's checkpoint off too: nothing written.
    await judge({ initialQuery: 'Why is the sky blue?', cache: false });
    assert.equal(await cacheTokens('cache_write'), 0);
    for (const initialQuery of ['Why do leaves change colour?', 'What is a prime number?']) await judge({ initialQuery });
    const written = await cacheTokens('cache_write');
    assert.ok(written >= 1100, `the first judging call wrote the rubric (${written})`);
    assert.equal(await cacheTokens('cache_read'), written, 'the second read all of it');
  });
});
