/**
 * Issue 21, part 3: memory that admission does not bound. A run holds at most RUN_MAX_SEEDS, all
 * runs' backlogs together at most BACKLOG_MAX_SEEDS seeds and BACKLOG_MAX_BYTES bytes (counted in
 * the Lua script that adds them, taken off where seeds leave), uploads are smaller by default,
 * `maxActive` has a bounded maximum, and writes are refused with 429 while Redis is near its
 * `maxmemory`. Real producer and Redis (a private one where `maxmemory` is changed).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { loadConfig } from '../../shared/config';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';
import { sleep, startBoundsProducer, type BoundsProducer } from './bounds-harness';

const ndjson = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ initialQuery: `${tag} seed ${i}`, maxTurns: 1 })).join('\n');

async function upload(p: BoundsProducer, route: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(route, p.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers }, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** What the totals hash says and what the backlogs really hold (seeds, bytes of ids + payloads). */
async function backlog(p: BoundsProducer) {
  const totals = await p.redis.hgetall(`${p.prefix}:backlog-totals`);
  let seeds = 0;
  let bytes = 0;
  for (const key of await p.redis.keys(`${p.prefix}:run:*:backlog:seeds`)) {
    const all = await p.redis.hgetall(key);
    for (const [id, payload] of Object.entries(all)) {
      seeds++;
      bytes += Buffer.byteLength(id) + Buffer.byteLength(payload);
    }
  }
  return { counted: { seeds: Number(totals.seeds ?? 0), bytes: Number(totals.bytes ?? 0) }, real: { seeds, bytes } };
}

describe('bounds: backlog caps, upload size, maxActive, Redis memory', function () {
  this.timeout(30_000);

  it('ships bounded defaults: 64 MiB uploads, 100,000 seeds a run, 500,000 / 128 MiB waiting, maxActive up to 1000, refuse at 90% of maxmemory', () => {
    const c = loadConfig({});
    assert.equal(c.runMaxBodyBytes, 64 * 1024 * 1024);
    assert.equal(c.runMaxSeeds, 100_000);
    assert.equal(c.backlogMaxSeeds, 500_000);
    assert.equal(c.backlogMaxBytes, 128 * 1024 * 1024);
    assert.equal(c.runMaxActiveLimit, 1000);
    assert.equal(c.redisMemoryRefuseRatio, 0.9);
    assert.equal(c.maxWaits, 1000);
    assert.throws(() => loadConfig({ REDIS_MEMORY_REFUSE_RATIO: '1.5' }), /REDIS_MEMORY_REFUSE_RATIO/);
    assert.throws(() => loadConfig({ RUN_MAX_ACTIVE: '2000' }), /RUN_MAX_ACTIVE_LIMIT/);
  });

  describe('caps', () => {
    let p: BoundsProducer;
    before(async () => {
      p = await startBoundsProducer({ RUN_MAX_SEEDS: '6', BACKLOG_MAX_SEEDS: '9', RUN_MAX_BODY_BYTES: '100000' });
    });
    after(async () => p?.close());

    it('a run past RUN_MAX_SEEDS keeps what fit and says how many were refused, from which line and why; then 413 run_full', async () => {
      const res = await upload(p, '/runs?run=per-run&maxActive=1', ndjson(9, 'per-run'));
      assert.equal(res.status, 202);
      assert.equal(res.body.accepted, 6);
      assert.equal(res.body.refused, 3);
      assert.equal(res.body.refusedFromLine, 7);
      assert.match(res.body.refusedReason, /RUN_MAX_SEEDS=6/);
      const full = await upload(p, '/runs/per-run/seeds', ndjson(1, 'more'));
      assert.equal(full.status, 413);
      assert.equal(full.body.error.code, 'run_full');
      assert.match(full.body.error.message, /RUN_MAX_SEEDS/);
      const view = (await (await fetch(new URL('/runs/per-run', p.url))).json()) as { seeds: number };
      assert.equal(view.seeds, 6);
      // Cancelled: its 5 waiting seeds leave the count.
      await fetch(new URL('/runs/per-run', p.url), { method: 'DELETE' });
      assert.deepEqual((await backlog(p)).counted, { seeds: 0, bytes: 0 });
    });

    it('the backlog of all runs stops at BACKLOG_MAX_SEEDS: partial upload, then 429 backlog_full with Retry-After; the count stays exact', async () => {
      const a = await upload(p, '/runs?run=a&maxActive=1', ndjson(5, 'a'));
      assert.deepEqual([a.body.accepted, a.body.refused], [5, 0]);
      // a: 1 admitted, 4 waiting. b fits 5 more (9), is refused its 6th, then admits 1 (8 waiting).
      const b = await upload(p, '/runs?run=b&maxActive=1', ndjson(6, 'b'));
      assert.deepEqual([b.body.accepted, b.body.refused, b.body.refusedFromLine], [5, 1, 6]);
      assert.match(b.body.refusedReason, /BACKLOG_MAX_SEEDS=9/);
      // a's one slot is taken: its append waits in full (9), and a new run finds no room at all.
      const more = await upload(p, '/runs/a/seeds', ndjson(1, 'a2'));
      assert.deepEqual([more.body.accepted, more.body.refused], [1, 0]);
      const refused = await upload(p, '/runs?run=c', ndjson(2, 'c'));
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'backlog_full');
      assert.match(refused.body.error.message, /BACKLOG_MAX_SEEDS/);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.equal((await fetch(new URL('/runs/c', p.url))).status, 404, 'nothing was created');
      const state = await backlog(p);
      assert.deepEqual(state.counted, state.real);
      assert.equal(state.counted.seeds, 9);
      await fetch(new URL('/runs/a', p.url), { method: 'DELETE' });
      await fetch(new URL('/runs/b', p.url), { method: 'DELETE' });
      assert.deepEqual((await backlog(p)).counted, { seeds: 0, bytes: 0 });
    });

    it('parallel uploads to many runs never pass the cap together (counted in the script that adds)', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => upload(p, `/runs?run=par-${i}&maxActive=1`, ndjson(4, `par-${i}`))),
      );
      const state = await backlog(p);
      assert.deepEqual(state.counted, state.real);
      assert.ok(state.real.seeds <= 9, `waiting ${state.real.seeds}`);
      const accepted = results.reduce((n, r) => n + (r.status === 202 ? r.body.accepted : 0), 0);
      const refused = results.reduce((n, r) => n + (r.status === 202 ? r.body.refused : 4), 0);
      assert.equal(accepted + refused, 24);
      for (let i = 0; i < 6; i++) await fetch(new URL(`/runs/par-${i}`, p.url), { method: 'DELETE' });
      assert.deepEqual((await backlog(p)).counted, { seeds: 0, bytes: 0 });
    });

    it('an upload declaring more than RUN_MAX_BODY_BYTES is 413 before anything is created; maxActive past RUN_MAX_ACTIVE_LIMIT is 400', async () => {
      const big = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          new URL('/runs?run=too-big', p.url),
          { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'content-length': '200000' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.write(ndjson(1, 'big'));
      });
      assert.equal(big, 413);
      assert.equal((await fetch(new URL('/runs/too-big', p.url))).status, 404, 'no run was created');
      const wide = await upload(p, '/runs?run=wide&maxActive=5000', ndjson(1, 'wide'));
      assert.equal(wide.status, 400);
      assert.match(JSON.stringify(wide.body), /RUN_MAX_ACTIVE_LIMIT/);
    });
  });

  it('bytes count too: BACKLOG_MAX_BYTES refuses the seeds past it', async () => {
    const p = await startBoundsProducer({ BACKLOG_MAX_BYTES: '1500' });
    try {
      const res = await upload(p, '/runs?run=bytes&maxActive=1', ndjson(20, 'bytes'));
      assert.equal(res.status, 202);
      assert.ok(res.body.accepted > 1 && res.body.refused > 0, JSON.stringify(res.body));
      assert.match(res.body.refusedReason, /BACKLOG_MAX_BYTES=1500/);
      const state = await backlog(p);
      assert.deepEqual(state.counted, state.real);
      assert.ok(state.real.bytes <= 1500);
    } finally {
      await p.close();
    }
  });

  describe('near maxmemory', () => {
    let redis: EmbeddedRedis;
    let p: BoundsProducer;
    before(async () => {
      redis = await startEmbeddedRedis();
      p = await startBoundsProducer({ REDIS_URL: redis.url });
    });
    after(async () => {
      await p?.close();
      await redis?.stop();
    });

    it('refuses POST /conversation, POST /runs and appends with 429 redis_memory_high naming maxmemory, and accepts again once there is room', async () => {
      const used = Number(/^used_memory:(\d+)/m.exec(await p.redis.info('memory'))![1]);
      await p.redis.config('SET', 'maxmemory', String(Math.ceil(used * 1.05)));
      await sleep(1100);
      const conv = await fetch(new URL('/conversation', p.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ initialQuery: 'room?' }),
      });
      assert.equal(conv.status, 429);
      const body = (await conv.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'redis_memory_high');
      assert.match(body.error.message, /maxmemory/);
      assert.match(body.error.message, /REDIS_MEMORY_REFUSE_RATIO=0\.9/);
      assert.ok(Number(conv.headers.get('retry-after')) > 0);
      assert.equal((await upload(p, '/runs?run=mem', ndjson(2, 'mem'))).status, 429);
      assert.equal((await upload(p, '/runs/mem/seeds', ndjson(2, 'mem'))).status, 429);
      // Reads still answer.
      assert.equal((await fetch(new URL('/runs', p.url))).status, 200);
      await p.redis.config('SET', 'maxmemory', String(used * 10));
      await sleep(1100);
      const ok = await fetch(new URL('/conversation', p.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ initialQuery: 'room now?' }),
      });
      assert.equal(ok.status, 202);
    });
  });
});
