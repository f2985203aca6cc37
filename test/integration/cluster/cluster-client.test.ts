/**
 * REDIS_CLUSTER_NODES on a real 3 masters + 3 replicas cluster (test/helpers/redis-cluster.ts): the
 * whole stack over ioredis's Cluster client, a MOVED answered 503 with Retry-After, the eviction
 * check reading every master, and the bound on repeated error lines when a process is pointed at
 * a node that does not own the prefix's slot (the 144,000 MOVED lines in 17 s).
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { closeRedis, openRedis } from '../../../assembly/redis-connections';
import { redisCheck } from '../../../doctor/redis-check';
import { loadConfig } from '../../../shared/config';
import { createLogger } from '../../../shared/logger';
import { loadModelCatalog } from '../../../shared/model-catalog';
import { fullestMasterInfo } from '../../../shared/redis-connection';
import { createOutageLog } from '../../../shared/redis-outage-log';
import { assertQueueSafeRedis } from '../../../workers/worker-host';
import { freePort } from '../../../shared/embedded-redis';
import { uniquePrefix } from '../../helpers/redis';
import { startProcess } from '../operate/processes';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';

/** A logger whose lines land in `lines` (parsed). */
function capturingLogger() {
  const lines: Array<{ msg: string; level: number }> = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { logger, lines };
}

describe('Redis Cluster: REDIS_CLUSTER_NODES on 3 masters + 3 replicas', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  const stacks: TestStack[] = [];

  before(async () => {
    cluster = await startRedisCluster();
  });
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.close();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a conversation completes through the Cluster client, its keys all on the master owning the prefix', async () => {
    const prefix = uniquePrefix('cl');
    const stack = await startTestStack({ REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.addresses.join(','), QUEUE_PREFIX: prefix });
    stacks.push(stack);
    const res = await stack.http.post('/conversation', { initialQuery: 'Across the cluster?', maxTurns: 3 });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed');
    assert.equal(view.turnsCompleted, 3);
    const owner = await cluster.masterOf(prefix);
    const here = (await cluster.admin(owner).keys(`${prefix}*`)).length;
    assert.ok(here >= 5, `the owner holds the conversation's keys (${here})`);
    for (const port of await cluster.masters()) {
      if (port !== owner) assert.deepEqual(await cluster.admin(port).keys(`${prefix}*`), [], `no key of ${prefix} on ${port}`);
    }
  });

  it('one node that does not own the slot: POST /conversation is a 503 with Retry-After (MOVED), never a 500', async () => {
    const prefix = uniquePrefix('moved');
    const owner = await cluster.masterOf(prefix);
    const other = (await cluster.masters()).find((p) => p !== owner)!;
    const stack = await startTestStack({ REDIS_URL: `redis://127.0.0.1:${other}`, QUEUE_PREFIX: prefix }, { roles: [] });
    stacks.push(stack);
    const res = await stack.http.post('/conversation', { initialQuery: 'Which node?', maxTurns: 1 });
    assert.equal(res.status, 503, JSON.stringify(res.data));
    assert.ok(res.headers['retry-after'], 'Retry-After is set');
  });

  it("the eviction check reads every master: one master's allkeys-lru is refused, naming its address", async () => {
    const conn = await openRedis('worker', { clusterNodes: cluster.addresses });
    const [first, second] = await cluster.masters();
    const logger = createLogger({ level: 'silent' });
    try {
      await assertQueueSafeRedis(conn, logger);
      await cluster.admin(second!).config('SET', 'maxmemory-policy', 'allkeys-lru');
      await assert.rejects(assertQueueSafeRedis(conn, logger), new RegExp(`allkeys-lru \\(at 127\\.0\\.0\\.1:${second}\\)`));
      assert.equal(first === second, false);
    } finally {
      await cluster.admin(second!).config('SET', 'maxmemory-policy', 'noeviction');
      await closeRedis(conn);
    }
  });

  it("the memory admission reads every master and takes the fullest against its maxmemory (not a random node's)", async () => {
    const conn = await openRedis('producer', { clusterNodes: cluster.addresses });
    const masters = await cluster.masters();
    const target = masters[masters.length - 1]!;
    try {
      const used = Number(/^used_memory:(\d+)/m.exec(await cluster.admin(target).info('memory'))![1]);
      await cluster.admin(target).config('SET', 'maxmemory', String(used * 4));
      for (let i = 0; i < 5; i++) {
        const info = await fullestMasterInfo(conn).info('memory');
        assert.equal(Number(/^maxmemory:(\d+)/m.exec(info)![1]), used * 4, 'the reply of the master with a maxmemory');
      }
    } finally {
      await cluster.admin(target).config('SET', 'maxmemory', '0');
      await closeRedis(conn);
    }
  });

  it('llmconv doctor over REDIS_CLUSTER_NODES: the cluster answers, every master noeviction, AOF on', async () => {
    const env = { REDIS_CLUSTER_NODES: cluster.addresses.join(',') };
    const config = loadConfig(env);
    const lines = await redisCheck()({
      config,
      env,
      catalog: loadModelCatalog(undefined),
      probe: false,
      timeoutMs: 5000,
      note: () => undefined,
    });
    assert.deepEqual(
      lines.map((l) => [l.check, l.status]),
      [
        ['redis', 'ok'],
        ['redis.eviction', 'ok'],
        ['redis.aof', 'ok'],
      ],
      JSON.stringify(lines),
    );
    assert.match(lines[0]!.found, /^cluster 127\.0\.0\.1:\d+/);
  });

  /** Runs `fail` in a loop for `windowMs`, each rejection reported to an outage log; its lines. */
  async function storm(everyMs: number, windowMs: number, fail: () => Promise<unknown>) {
    const { logger, lines } = capturingLogger();
    const outage = createOutageLog(logger, 'test', everyMs);
    let errors = 0;
    const started = Date.now();
    while (Date.now() - started < windowMs) {
      await fail().catch((err: Error) => {
        errors += 1;
        outage.error(err);
      });
    }
    outage.close();
    return { errors, lines: lines.filter((l) => /redis|Redis/.test(l.msg)) };
  }

  it('a stream of MOVED errors (a client on the wrong node) is one line, then one per interval with its count', async () => {
    const prefix = uniquePrefix('storm');
    const owner = await cluster.masterOf(prefix);
    const other = (await cluster.masters()).find((p) => p !== owner)!;
    const conn = new Redis(other, '127.0.0.1', { maxRetriesPerRequest: 0 });
    const everyMs = 500;
    const windowMs = 2000;
    const { errors, lines } = await storm(everyMs, windowMs, () => conn.get(`${prefix}:x`));
    conn.disconnect();
    assert.ok(errors > 200, `the loop met many MOVED answers (${errors})`);
    const bound = Math.ceil(windowMs / everyMs) + 1;
    assert.ok(lines.length <= bound, `${lines.length} lines for ${errors} errors (bound ${bound}): ${JSON.stringify(lines.slice(0, 3))}`);
    assert.match(lines[0]!.msg, /Redis unreachable/, 'MOVED counts as the slot being unavailable');
    const counted = lines.slice(1).reduce((n, l) => n + Number((l as { errors?: number }).errors ?? 0), 0);
    assert.ok(counted > 0 && counted < errors, `the interval lines count the errors (${counted} of ${errors})`);
  });

  it('any other repeated Redis error (a refused command) is bounded too, every one counted', async () => {
    const prefix = uniquePrefix('wrongtype');
    const conn = await openRedis('worker', { clusterNodes: cluster.addresses });
    await conn.set(`${prefix}:s`, 'a string');
    const everyMs = 500;
    const windowMs = 1500;
    const { errors, lines } = await storm(everyMs, windowMs, () => conn.hget(`${prefix}:s`, 'f'));
    await closeRedis(conn);
    assert.ok(errors > 100, `the loop met many WRONGTYPE answers (${errors})`);
    const bound = Math.ceil(windowMs / everyMs) + 2;
    assert.ok(lines.length <= bound, `${lines.length} lines for ${errors} errors (bound ${bound})`);
    const counted = lines.reduce((n, l) => n + Number((l as { repeated?: number }).repeated ?? 0), 0);
    assert.equal(counted + 1, errors, 'the first line and the repeated counts add up to every error');
  });

  it('a worker process (workers/main.ts) on a node that does not own the slot: /ready is 503 naming MOVED, its log bounded', async () => {
    const prefix = uniquePrefix('wrongnode');
    const owner = await cluster.masterOf(prefix);
    const other = (await cluster.masters()).find((p) => p !== owner)!;
    const metricsPort = await freePort();
    const worker = startProcess('workers/main.ts', {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: `redis://127.0.0.1:${other}`,
      QUEUE_PREFIX: prefix,
      WORKER_ROLES: 'transcript',
      METRICS_PORT: String(metricsPort),
    });
    try {
      await worker.waitForLog((l) => l.msg === 'worker ready', 20_000);
      const since = worker.logs.length;
      await new Promise((r) => setTimeout(r, 3000));
      const res = await fetch(`http://127.0.0.1:${metricsPort}/ready`);
      const body = (await res.json()) as { status: string; reason?: string };
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.match(body.reason ?? '', /Redis unavailable .*MOVED/);
      const lines = worker.logs.slice(since);
      // In 3 s: at most a report line per 10 s interval (the issue saw 144,000 MOVED lines in 17 s).
      assert.ok(lines.length <= 3, `${lines.length} log lines in 3 s: ${JSON.stringify(lines.slice(0, 3))}`);
    } finally {
      await worker.kill();
    }
  });
});
