import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RunStore } from '../../../store/run-store';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

const ndjson = (rows: unknown[]) => `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`;
const post = (stack: TestStack, path: string, body: string, type = 'application/x-ndjson', headers: Record<string, string> = {}) =>
  stack.http.post(path, body, { headers: { 'content-type': type, ...headers }, transformRequest: [(d) => d] });

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

describe('runs (real Redis, HTTP, emulators, workers)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let redis: Redis;
  let runs: RunStore;

  before(async () => {
    stack = await startTestStack(
      { CLOUD_CONCURRENCY: '20', LOCAL_CONCURRENCY: '20', TRANSCRIPT_CONCURRENCY: '20' },
      { emulatorLatencyMs: 0 },
    );
    redis = stack.store.redis;
    runs = new RunStore(redis, stack.store.shards);
  });
  after(async () => {
    await stack?.close();
  });

  it('a run of 1,200 NDJSON seeds with duplicates and bad lines runs every unique seed once, never more than maxActive at a time', async () => {
    const lines: unknown[] = [];
    for (let i = 0; i < 1000; i++) lines.push({ initialQuery: `Question number ${i}?`, meta: { topic: `t${i % 7}` } });
    // 150 exact duplicates (one differs only by whitespace: the normalised text is the same seed).
    for (let i = 0; i < 149; i++) lines.push({ initialQuery: `Question number ${i}?`, meta: { topic: `t${i % 7}` } });
    lines.push({ initialQuery: '  Question   number 5? ' });
    // Bad lines: not JSON, not an object, unknown field, empty query, a bad setting.
    const bad = [
      '{"initialQuery": ',
      '[1,2]',
      JSON.stringify({ initialQuery: 'x', colour: 'red' }),
      JSON.stringify({ initialQuery: '  ' }),
      JSON.stringify({ initialQuery: 'y', maxTurns: 0 }),
    ];
    const badAt: number[] = [];
    for (const [i, b] of bad.entries()) {
      const at = 100 + i * 200;
      lines.splice(at, 0, b);
      badAt.push(at + 1);
    }
    const maxActive = 25;
    let sampling = true;
    let maxSeen = 0;
    let samples = 0;
    let runId = '';
    const sampler = (async () => {
      while (sampling) {
        if (runId) {
          // In flight = admitted and not terminal, read from the records themselves.
          const ids = await runs.conversations(runId, 0, 100_000);
          const p = redis.pipeline();
          for (const id of ids) p.hget(stack.store.recordKeys(id)[0], 'status');
          const statuses = ((await p.exec()) ?? []).map(([, s]) => s);
          const inFlight = statuses.filter((s) => s === 'queued' || s === 'running').length;
          maxSeen = Math.max(maxSeen, inFlight, Number(await redis.hget(runs.keys(runId).run, 'active')));
          samples++;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const res = await post(stack, `/runs?maxTurns=1&maxActive=${maxActive}&name=first`, ndjson(lines));
    assert.equal(res.status, 202, JSON.stringify(res.data));
    runId = res.data.runId;
    assert.equal(res.data.accepted, 1000);
    assert.equal(res.data.duplicates, 150);
    assert.equal(res.data.rejected, 5);
    assert.deepEqual(
      res.data.rejectedLines.map((r: any) => r.line),
      badAt,
    );
    assert.match(res.data.rejectedLines[0].reason, /not valid JSON/);
    assert.match(res.data.rejectedLines[1].reason, /not a JSON object/);
    assert.match(res.data.rejectedLines[2].reason, /unknown field\(s\): colour/);
    assert.match(res.data.rejectedLines[3].reason, /initialQuery must not be empty/);
    assert.match(res.data.rejectedLines[4].reason, /maxTurns/);
    assert.equal(res.data.statusUrl, `/runs/${runId}`);

    const view = await waitForRun(stack, runId);
    sampling = false;
    await sampler;
    assert.equal(view.state, 'finished');
    assert.equal(view.byStatus.completed, 1000);
    assert.equal(view.byStopReason.max_turns, 1000);
    assert.equal(view.active, 0);
    assert.ok(view.tokens > 0);
    assert.ok(samples > 3, `sampled ${samples} times`);
    assert.ok(maxSeen <= maxActive, `saw ${maxSeen} in flight, maxActive ${maxActive}`);
    assert.ok(maxSeen >= maxActive / 2, `admission kept the run busy (max in flight ${maxSeen})`);

    // Every admitted conversation carries the run and its seed's provenance.
    const ids = await runs.conversations(runId, 0, 5000);
    assert.equal(new Set(ids).size, 1000);
    const rec = (await stack.store.get(ids[0]!))!;
    assert.equal(rec.settings.run?.id, runId);
    assert.match(rec.settings.run!.seedHash, /^[0-9a-f]{32}$/);
    assert.deepEqual(rec.settings.run!.meta, { topic: 't0' });
    assert.equal(rec.settings.maxTurns, 1);
    const queries = await Promise.all(ids.map(async (id) => (await stack.store.get(id))!.settings.initialQuery));
    assert.equal(new Set(queries).size, 1000);

    // The same file again adds nothing.
    const again = await post(stack, `/runs/${runId}/seeds?maxTurns=1`, ndjson(lines));
    assert.equal(again.status, 202);
    assert.equal(again.data.accepted, 0);
    assert.equal(again.data.duplicates, 1150);
    assert.equal((await runs.conversations(runId, 0, 5000)).length, 1000);

    const page = await stack.http.get(`/runs/${runId}/conversations?limit=600`);
    assert.equal(page.data.conversations.length, 600);
    assert.deepEqual(
      page.data.conversations.map((c: any) => c.conversationId),
      ids.slice(0, 600),
    );
    assert.ok(page.data.conversations.every((c: any) => c.status === 'completed'));
    const rest = await stack.http.get(page.data.next);
    assert.equal(rest.data.conversations.length, 400);
    assert.equal(rest.data.next, undefined);

    const list = await stack.http.get('/runs');
    assert.ok(list.data.runs.some((r: any) => r.runId === runId && r.name === 'first' && r.finished === 1000));
  });

  it('plain text and CSV uploads become seeds; CSV columns other than settings become meta', async () => {
    const text = await post(stack, '/runs?maxTurns=1', 'What is rain?\n\nWhy is the sky blue?\r\nWhat is rain?\n', 'text/plain');
    assert.equal(text.status, 202);
    assert.deepEqual([text.data.accepted, text.data.duplicates, text.data.rejected], [2, 1, 0]);
    const csv = await post(
      stack,
      '/runs?maxTurns=1',
      'initialQuery,id,topic,maxTurns\n"Hello, world?",a1,greeting,1\nSecond one,a2,misc,x\n',
      'text/csv',
    );
    assert.equal(csv.status, 202, JSON.stringify(csv.data));
    assert.deepEqual([csv.data.accepted, csv.data.rejected], [1, 1]);
    assert.equal(csv.data.rejectedLines[0].line, 3);
    assert.match(csv.data.rejectedLines[0].reason, /maxTurns: "x" is not a number/);
    await waitForRun(stack, csv.data.runId);
    const [id] = await runs.conversations(csv.data.runId);
    const rec = (await stack.store.get(id!))!;
    assert.equal(rec.settings.initialQuery, 'Hello, world?');
    assert.deepEqual(rec.settings.run!.meta, { topic: 'greeting', id: 'a1' });
    const noColumn = await post(stack, '/runs', 'question\nx\n', 'text/csv');
    assert.equal(noColumn.status, 400);
    assert.match(noColumn.data.error.message, /initialQuery/);
  });

  it('bad run options, content types and unknown runs are refused with a message naming the fault', async () => {
    const type = await post(stack, '/runs', '{}', 'application/xml');
    assert.equal(type.status, 415);
    assert.match(type.data.error.message, /application\/x-ndjson/);
    const opt = await post(stack, '/runs?maxTurns=abc', ndjson([{ initialQuery: 'q' }]));
    assert.equal(opt.status, 400);
    assert.match(opt.data.error.message, /maxTurns/);
    const hdr = await post(stack, '/runs', ndjson([{ initialQuery: 'q' }]), 'application/x-ndjson', {
      'run-options': JSON.stringify({ templates: { followUp: 'no placeholder' } }),
    });
    assert.equal(hdr.status, 400);
    assert.match(hdr.data.error.message, /templates\.followUp must contain \{\{answer\}\}/);
    assert.equal((await post(stack, '/runs/nope/seeds', ndjson([{ initialQuery: 'q' }]))).status, 404);
    assert.equal((await stack.http.get('/runs/nope')).status, 404);
    const long = await post(stack, '/runs?maxTurns=1', ndjson([{ initialQuery: 'a'.repeat(70_000) }, { initialQuery: 'short' }]));
    assert.equal(long.status, 202);
    assert.deepEqual([long.data.accepted, long.data.rejected], [1, 1]);
    assert.match(long.data.rejectedLines[0].reason, /RUN_MAX_LINE_BYTES/);
  });

  it('DELETE /runs/:id cancels the conversations in flight and empties the backlog', async () => {
    stack.ollama!.faults.set({ latencyMs: 300 });
    try {
      const seeds = Array.from({ length: 200 }, (_, i) => ({ initialQuery: `Cancel me ${i}` }));
      const res = await post(stack, '/runs?maxTurns=3&maxActive=10', ndjson(seeds));
      assert.equal(res.data.accepted, 200);
      const runId = res.data.runId;
      await until(async () => (await stack.http.get(`/runs/${runId}`)).data.active === 10, 10_000, 'ten in flight');
      const del = await stack.http.delete(`/runs/${runId}`);
      assert.equal(del.status, 200);
      assert.equal(del.data.state, 'cancelled');
      assert.equal(del.data.waiting, 0);
      assert.ok(del.data.unadmitted >= 180, `dropped ${del.data.unadmitted}`);
      await until(async () => (await stack.http.get(`/runs/${runId}`)).data.active === 0, 10_000, 'nothing in flight');
      const v = (await stack.http.get(`/runs/${runId}`)).data;
      assert.equal(v.admitted + v.unadmitted, 200);
      assert.equal((v.byStatus.cancelled ?? 0) + (v.byStatus.completed ?? 0), v.admitted);
      assert.ok(v.byStatus.cancelled >= 1);
      // Appending to a cancelled run is refused.
      assert.equal((await post(stack, `/runs/${runId}/seeds`, ndjson([{ initialQuery: 'late' }]))).status, 409);
    } finally {
      stack.ollama!.faults.reset();
    }
  });

  it('retryFailed runs the failed conversations again, and only those, under the same ids', async () => {
    // A permanent Bedrock error (ValidationException, 400) fails a conversation at once.
    stack.bedrock!.faults.set({ faults: [{ kind: 'validation', count: 4, message: 'bad input' }] });
    let runId: string;
    try {
      const res = await post(
        stack,
        '/runs?maxTurns=1&maxActive=1',
        ndjson(Array.from({ length: 10 }, (_, i) => ({ initialQuery: `Retry me ${i}` }))),
      );
      runId = res.data.runId;
      const first = await waitForRun(stack, runId);
      assert.equal(first.byStatus.failed, 4, JSON.stringify(first));
      assert.equal(first.byStatus.completed, 6);
    } finally {
      stack.bedrock!.faults.reset();
    }
    const ids = await runs.conversations(runId, 0, 100);
    await until(
      async () => {
        const recs = await Promise.all(ids.map((id) => stack.store.get(id)));
        return recs.every((r) => r!.transcriptPath);
      },
      10_000,
      'every transcript written',
    );
    const failedIds = [];
    for (const id of ids) if ((await stack.store.get(id))!.status === 'failed') failedIds.push(id);
    const again = await post(stack, `/runs/${runId}/seeds?retryFailed=true`, '');
    assert.equal(again.status, 202, JSON.stringify(again.data));
    assert.equal(again.data.retried, 4);
    assert.equal(again.data.accepted, 0);
    const view = await waitForRun(stack, runId);
    assert.equal(view.byStatus.completed, 10, JSON.stringify(await Promise.all(failedIds.map((id) => stack.store.get(id)))));
    assert.equal(view.byStatus.failed, 0);
    assert.equal(view.retried, 4);
    const after = await runs.conversations(runId, 0, 100);
    assert.deepEqual([...after].sort(), [...ids].sort(), 'the same conversation ids');
    for (const id of failedIds) assert.equal((await stack.store.get(id))!.status, 'completed');
    // Nothing failed any more: a second retry puts nothing back.
    assert.equal((await post(stack, `/runs/${runId}/seeds?retryFailed=true`, '')).data.retried, 0);
  });

  it('two runs share the workers: each stays within its own maxActive and both progress at once', async () => {
    stack.ollama!.faults.set({ latencyMs: 20 });
    try {
      const mk = (tag: string) => ndjson(Array.from({ length: 60 }, (_, i) => ({ initialQuery: `${tag} ${i}` })));
      const [a, b] = await Promise.all([
        post(stack, '/runs?maxTurns=1&maxActive=4', mk('A')),
        post(stack, '/runs?maxTurns=1&maxActive=6', mk('B')),
      ]);
      const ids = [a.data.runId, b.data.runId];
      const maxSeen = [0, 0];
      let bothMidway = false;
      await until(
        async () => {
          const vs = await Promise.all(ids.map(async (id) => (await stack.http.get(`/runs/${id}`)).data));
          for (const [i, v] of vs.entries()) maxSeen[i] = Math.max(maxSeen[i]!, v.active);
          if (vs.every((v) => v.finished > 0 && v.finished < 60)) bothMidway = true;
          return vs.every((v) => v.state === 'finished');
        },
        60_000,
        'both runs to finish',
      );
      assert.ok(maxSeen[0]! <= 4 && maxSeen[1]! <= 6, `max in flight ${maxSeen}`);
      assert.ok(bothMidway, 'neither run waited for the other');
    } finally {
      stack.ollama!.faults.reset();
    }
  });

  it('GET /runs/:id/events streams progress and ends when the run is done', async () => {
    const res = await post(
      stack,
      '/runs?maxTurns=1&maxActive=5',
      ndjson(Array.from({ length: 30 }, (_, i) => ({ initialQuery: `SSE ${i}` }))),
    );
    const sse = await stack.http.get(`/runs/${res.data.runId}/events`, { responseType: 'text', timeout: 30_000 });
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /text\/event-stream/);
    const events = String(sse.data)
      .split('\n\n')
      .filter((b) => b.startsWith('event:'));
    const last = events.at(-1)!;
    assert.match(last, /^event: end/);
    const data = JSON.parse(last.split('\ndata: ')[1]!);
    assert.equal(data.byStatus.completed, 30);
    const page = await stack.http.get(`/runs/${res.data.runId}/page`);
    assert.equal(page.status, 200);
    assert.match(page.data, /EventSource/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))![1]!;
    assert.match(page.data, new RegExp(`<script nonce="${nonce.replace(/[+/=]/g, '\\$&')}">`));
    assert.equal((await stack.http.get('/runs/nope/page')).status, 404);
  });
});
