/**
 * Issue 21, part 4: streams without a cap. Every SSE stream (conversation events and run events)
 * counts against one SSE_MAX_STREAMS; all streams of a run share one poller; a client that hangs
 * up is no error (no error-level line, no stack). Real producer, Redis and raw HTTP clients.
 */
import assert from 'node:assert/strict';
import { commandsOn, metric, openRequest, sleep, startBoundsProducer, type BoundsProducer } from './bounds-harness';
import { until } from '../helpers/test-stack';

async function startRun(p: BoundsProducer, seeds: number): Promise<string> {
  const lines = Array.from({ length: seeds }, (_, i) => JSON.stringify({ initialQuery: `stream seed ${i}`, maxTurns: 1 })).join('\n');
  const res = await fetch(new URL('/runs?maxActive=1', p.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: lines,
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { runId: string }).runId;
}

async function aConversation(p: BoundsProducer): Promise<string> {
  const res = await fetch(new URL('/conversation', p.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ initialQuery: 'watch me', maxTurns: 1 }),
  });
  return ((await res.json()) as { conversationId: string }).conversationId;
}

/** Opens an SSE stream and resolves once its headers are in (status and the live request). */
async function openStream(p: BoundsProducer, route: string) {
  const r = openRequest(p.url, route, { method: 'GET' });
  const status = await new Promise<number>((resolve, reject) => {
    r.req.once('response', (res) => resolve(res.statusCode ?? 0));
    r.req.once('error', reject);
  });
  return { ...r, status };
}

describe('bounds: one cap and one poller for every SSE stream; hang-ups are not errors', function () {
  this.timeout(30_000);
  let p: BoundsProducer;
  before(async () => {
    p = await startBoundsProducer({ SSE_MAX_STREAMS: '4' });
  });
  after(async () => p?.close());

  it('run streams and conversation streams share SSE_MAX_STREAMS: the 5th of any kind is 503 too_many_streams with Retry-After', async () => {
    const run = await startRun(p, 3);
    const conv = await aConversation(p);
    const open = [
      await openStream(p, `/runs/${run}/events`),
      await openStream(p, `/runs/${run}/events`),
      await openStream(p, `/runs/${run}/events`),
      await openStream(p, `/conversation/${conv}/events`),
    ];
    assert.deepEqual(
      open.map((s) => s.status),
      [200, 200, 200, 200],
    );
    for (const route of [`/runs/${run}/events`, `/conversation/${conv}/events`]) {
      const head = await openStream(p, route);
      if (head.status !== 503) head.hangUp();
      assert.equal(head.status, 503, `${route} beyond the cap`);
      const refused = await head.response;
      assert.equal(JSON.parse(refused.body).error.code, 'too_many_streams');
      assert.match(JSON.parse(refused.body).error.message, /SSE_MAX_STREAMS/);
      assert.ok(Number(refused.headers['retry-after']) > 0);
    }
    assert.equal(await metric(p.url, 'llmconv_streams_active', 'kind="run"'), 3);
    open[0]!.hangUp();
    await until(async () => (await metric(p.url, 'llmconv_streams_active', 'kind="run"')) === 2, 2000, 'the slot back');
    const again = await openStream(p, `/runs/${run}/events`);
    assert.equal(again.status, 200);
    for (const s of [...open, again]) s.hangUp();
    await until(async () => (await metric(p.url, 'llmconv_streams_active', 'kind="run"')) === 0, 2000, 'all streams closed');
  });

  it('four streams of one run read its progress once per tick, not once per stream', async () => {
    const run = await startRun(p, 3);
    const streams = [];
    for (let i = 0; i < 4; i++) streams.push(await openStream(p, `/runs/${run}/events`));
    await sleep(200);
    // Each read of a run's view is one LLEN of its backlog: one poller is ~3 in 3 s, one per stream ~12.
    const seen = await commandsOn(p.redis, `${p.prefix}:run:${run}:backlog`, () => sleep(3000));
    const reads = seen.filter((c) => c.startsWith('llen')).length;
    assert.ok(reads >= 2 && reads <= 4, `run view reads in 3 s with 4 streams: ${reads}`);
    for (const s of streams) s.hangUp();
  });

  it('clients hanging up on streams leave no error line and no stack in the log', async () => {
    const run = await startRun(p, 3);
    const conv = await aConversation(p);
    const from = p.logs.length;
    for (let round = 0; round < 3; round++) {
      const streams = [
        await openStream(p, `/runs/${run}/events`),
        await openStream(p, `/runs/${run}/events`),
        await openStream(p, `/conversation/${conv}/events`),
      ];
      await sleep(100);
      for (const s of streams) s.req.socket?.resetAndDestroy();
    }
    // Past a few poller ticks: nothing writes to a gone client.
    await sleep(2500);
    const lines = p.logs.slice(from);
    const bad = lines.filter((l) => (l.level as number) >= 50 || 'stack' in l);
    assert.deepEqual(bad, [], 'hang-ups are normal');
    assert.equal(await metric(p.url, 'llmconv_streams_active', 'kind="run"'), 0);
  });
});
