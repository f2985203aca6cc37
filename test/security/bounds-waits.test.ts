/**
 * Issue 21, part 2: work that outlives its client. `POST /conversation?wait=true` and
 * `POST /api/v1/generate` stop their work when the client hangs up (the response's `close`; on
 * Node 20 the request's own `close` fired when its body was read), waits are event-driven (no
 * Redis poll while a conversation runs), and MAX_WAITS bounds them (503 with Retry-After).
 * Real parts only: the producer, Redis, the local API Gateway with the real Lambda handler, the
 * Bedrock emulator with injected latency, and raw HTTP clients that hang up.
 */
import assert from 'node:assert/strict';
import { commandsOn, metric, openRequest, sleep, startBoundsProducer, type BoundsProducer } from './bounds-harness';
import { until } from '../helpers/test-stack';

/** The Redis commands on this producer's keys in `ms` (MONITOR, so other tests' traffic is not counted). */
async function commandsDuring(p: BoundsProducer, ms: number): Promise<{ n: number; seen: string }> {
  const seen = await commandsOn(p.redis, p.prefix, () => sleep(ms));
  return { n: seen.length, seen: seen.slice(0, 5).join(', ') };
}

describe('bounds: waits end with their client, are event-driven and capped (MAX_WAITS)', function () {
  this.timeout(30_000);
  let p: BoundsProducer;
  before(async () => {
    p = await startBoundsProducer({ MAX_WAITS: '3', CONVERSATION_TIMEOUT_MINUTES: '60' }, 3000);
  });
  after(async () => p?.close());

  it('a ?wait=true whose client hangs up stops waiting (gauge back to 0, no Redis commands after); the conversation keeps its state', async () => {
    const w = openRequest(p.url, '/conversation?wait=true', {
      body: JSON.stringify({ initialQuery: 'Will you wait for me?', maxTurns: 1 }),
    });
    await until(async () => (await p.redis.keys(`${p.prefix}:conv:*`)).length > 0, 5000, 'the conversation to be recorded');
    await sleep(200);
    // Event-driven: a wait in progress does not poll Redis (the old wait read the record 10 times a second).
    const during = await commandsDuring(p, 1000);
    assert.ok(during.n <= 2, `a running wait issues (almost) no Redis commands; seen ${during.seen}`);
    assert.equal(await metric(p.url, 'llmconv_waits_active', 'kind="wait"'), 1, 'the wait is counted');
    w.hangUp();
    await sleep(100);
    const after = await commandsDuring(p, 1000);
    assert.ok(after.n <= 2, `nothing keeps reading Redis for the gone client; seen ${after.seen}`);
    assert.equal(await metric(p.url, 'llmconv_waits_active', 'kind="wait"'), 0, 'the wait ended with its client');
    // The wait ended, the conversation did not: it is still there, as it was.
    const list = await (await fetch(new URL('/conversations?limit=5', p.url))).text();
    assert.match(list, /queued/);
  });

  it('a ?wait=true answers as soon as the conversation ends (the event, not a poll)', async () => {
    const w = openRequest(p.url, '/conversation?wait=true', { body: JSON.stringify({ initialQuery: 'Cancel me', maxTurns: 1 }) });
    await until(async () => (await metric(p.url, 'llmconv_waits_active', 'kind="wait"')) === 1, 5000, 'the wait');
    await sleep(200);
    const listed = JSON.parse(await (await fetch(new URL('/conversations?limit=10', p.url))).text()) as {
      conversations: { conversationId: string; status: string }[];
    };
    const queued = listed.conversations.filter((c) => c.status === 'queued');
    for (const c of queued) await fetch(new URL(`/conversation/${c.conversationId}`, p.url), { method: 'DELETE' });
    const t0 = Date.now();
    const res = await w.response;
    assert.equal(res.status, 409, res.body);
    assert.ok(Date.now() - t0 < 1000, 'answered right after the cancel');
    // The error answer still says where the conversation is.
    const { error } = JSON.parse(res.body) as { error: { code: string; details: { conversationId: string; statusUrl: string } } };
    assert.equal(error.code, 'conversation_cancelled');
    assert.equal(res.headers.location, error.details.statusUrl);
    assert.equal(error.details.statusUrl, `/conversation/${error.details.conversationId}`);
  });

  it('past MAX_WAITS: 503 too_many_waits with Retry-After, nothing created; a hang-up frees a slot', async () => {
    const body = (q: string) => JSON.stringify({ initialQuery: q, maxTurns: 1 });
    const held = [0, 1, 2].map((i) => openRequest(p.url, '/conversation?wait=true', { body: body(`held ${i}`) }));
    await until(async () => (await metric(p.url, 'llmconv_waits_active', 'kind="wait"')) === 3, 5000, 'three waits');
    const before = (await p.redis.keys(`${p.prefix}:conv:*`)).length;
    const fourth = await openRequest(p.url, '/conversation?wait=true', { body: body('one too many') }).response;
    assert.equal(fourth.status, 503, fourth.body);
    assert.equal(JSON.parse(fourth.body).error.code, 'too_many_waits');
    assert.match(JSON.parse(fourth.body).error.message, /MAX_WAITS/);
    assert.ok(Number(fourth.headers['retry-after']) > 0, 'Retry-After');
    assert.equal((await p.redis.keys(`${p.prefix}:conv:*`)).length, before, 'the refused request created nothing');
    // /api/v1/generate shares the pool.
    const gen = await openRequest(p.url, '/api/v1/generate', { body: JSON.stringify({ inputText: 'hi' }) }).response;
    assert.equal(gen.status, 503);
    held[0]!.hangUp();
    await until(async () => (await metric(p.url, 'llmconv_waits_active', 'kind="wait"')) === 2, 2000, 'the slot back');
    const again = openRequest(p.url, '/conversation?wait=true', { body: body('now there is room') });
    await until(async () => (await metric(p.url, 'llmconv_waits_active', 'kind="wait"')) === 3, 5000, 'the new wait');
    for (const h of [...held, again]) h.hangUp();
    await until(async () => (await metric(p.url, 'llmconv_waits_active', 'kind="wait"')) === 0, 2000, 'all waits gone');
  });

  it('a /api/v1/generate whose client hangs up aborts the call to API Gateway (the Bedrock emulator answers only after 3 s)', async () => {
    assert.equal(p.forwarder.open(), 0);
    const g = openRequest(p.url, '/api/v1/generate', { body: JSON.stringify({ inputText: 'Take your time.' }) });
    await until(() => p.forwarder.open() === 1, 2000, 'the producer to call the gateway');
    await until(() => p.bedrock.faults.stats().calls === 1, 2000, 'the Lambda to call Bedrock');
    g.hangUp();
    // Without the fix the producer keeps its call open until the reply, 3 s later.
    await until(() => p.forwarder.open() === 0, 1000, 'the producer to drop its call to the gateway');
    assert.equal(p.bedrock.faults.stats().calls, 1);
    assert.equal(await metric(p.url, 'llmconv_waits_active', 'kind="generate"'), 0);
    assert.ok(
      !p.logs.some((l) => l.level === 50),
      `no error logged: ${JSON.stringify(p.logs.filter((l) => l.level === 50)).slice(0, 400)}`,
    );
  });
});
