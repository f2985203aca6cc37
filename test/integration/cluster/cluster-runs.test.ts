/**
 * Runs under REDIS_SHARDS=3 on a real Redis Cluster (3 masters + 3 replicas, ioredis's Cluster
 * client): runs owned and owner-less, named and not, created, seeded, filled, finished, retried,
 * listed, cancelled, noted for the archive and archived, each through its store. Redis itself
 * refuses a script whose keys are not in one slot (CROSSSLOT, "non local key"), so every script
 * succeeding is the check that a run's keys, its conversations' and its owner's share its shard
 * (runs/run-ids.ts, runs/seed-identity.ts). The readers that fan out (`list`, `liveList`,
 * `unarchived`, `backlogTotals`) answer every shard's runs, merged.
 *
 * The store-level test writes the conversations with a conversation store on each run's shard
 * prefix (what the sharded conversation store does for that shard); the last test runs the whole
 * stack (REDIS_CLUSTER_NODES, REDIS_SHARDS=3, API_KEYS_FILE) and its runs to the end over HTTP.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { closeRedis, openRedis } from '../../../assembly/redis-connections';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import type { ConversationSettings } from '../../../conversation/model';
import { newRunId, runIdCandidates, runIdOnShard } from '../../../runs/run-ids';
import { openArchive } from '../../../store/archive/open-archive';
import type { SqlArchive } from '../../../store/archive/sql-archive';
import { ownedRunConversationId, runConversationId, seedHash } from '../../../runs/seed-identity';
import { OWNERLESS_ADMIN, type Caller } from '../../../shared/caller';
import { ShardSet } from '../../../shared/redis-shards';
import { CallerStore, callerKey } from '../../../store/caller-store';
import { ConversationStore } from '../../../store/conversation-store';
import { RunStore } from '../../../store/run-store';
import { uniquePrefix } from '../../helpers/redis';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

// alice's key has a limit (her runs stay on her shard), bob's none (his spread).
const alice: Caller = { id: 'alice', name: 'Alice', admin: false, maxActive: 100 };
const bob: Caller = { id: 'bob', name: 'Bob', admin: false };

const settings = (id: string, runId: string): ConversationSettings => ({
  initialQuery: `question of ${id}`,
  outputFile: `conversation-${id}.csv`,
  maxTurns: 1,
  timeoutMinutes: 5,
  cloudModel: 'c',
  localModel: 'l',
  contextTurns: 1,
  templates: { ...DEFAULT_TEMPLATES },
  systemPrompts: {},
  run: { id: runId, seedHash: 'h' },
});

/** Ids newest first as the runs index orders them: creation time, then id bytes, descending. */
function newestFirst(created: Map<string, number>): string[] {
  return [...created.keys()].sort((a, b) => created.get(b)! - created.get(a)! || Buffer.compare(Buffer.from(b), Buffer.from(a)));
}

describe('Redis Cluster, REDIS_SHARDS=3: runs across shards, every run script in its slot', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let conn: Redis;
  let archiveDir: string;
  let archive: SqlArchive;

  before(async () => {
    cluster = await startRedisCluster();
    conn = await openRedis('worker', { clusterNodes: cluster.addresses });
    archiveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runshards-archive-'));
    archive = (await openArchive({ kind: 'sqlite', file: path.join(archiveDir, 'archive.sqlite') }))!;
  });
  after(async () => {
    await archive?.close();
    if (archiveDir) fs.rmSync(archiveDir, { recursive: true, force: true });
    if (conn) await closeRedis(conn);
    await cluster?.stop();
  });

  /** A prefix whose 3 shard tags fall on 3 masters (a random tag's may share one). */
  async function spreadPrefix(label: string): Promise<ShardSet> {
    for (let i = 0; i < 50; i++) {
      const shards = new ShardSet(uniquePrefix(label), 3);
      if (new Set(await Promise.all(shards.prefixes.map((p) => cluster.masterOf(p)))).size === 3) return shards;
    }
    throw new Error('no prefix whose shards fall on 3 masters');
  }

  it('creates, seeds, fills, finishes, retries, lists, cancels and archives runs on every shard; list() is newest first', async () => {
    const shards = await spreadPrefix('runs');
    // The archive (SQLite) takes the finished runs: `list` then merges it with every shard's live runs.
    const runs = new RunStore(conn, shards, archive);
    const convsOf = (runId: string) => new ConversationStore(conn, { prefix: shards.at(runId), retentionSeconds: 60 });
    const secret = await runs.idSecret();
    // A limited key's limit is written on its own shard (CallerStore.syncLimits).
    await conn.hset(callerKey(shards.at('alice'), 'alice'), 'maxActive', '100');

    // Owner-less named runs, owned named runs (a shard suffix where the name is elsewhere) and owned new ones.
    const made: { id: string; owner?: string }[] = [];
    for (let i = 0; i < 6; i++) made.push({ id: runIdCandidates(shards, OWNERLESS_ADMIN, `plain-${i}`)[0]! });
    for (const c of [alice, bob])
      for (let i = 0; i < 3; i++) made.push({ id: runIdCandidates(shards, c, `nightly-${i}`)[0]!, owner: c.id });
    for (const c of [alice, bob]) for (let i = 0; i < 2; i++) made.push({ id: newRunId(shards, c, randomUUID)!.id, owner: c.id });
    for (const r of made) {
      assert.equal(await runs.create(r.id, r.id, 2, 10, r.owner), true, r.id);
      if (r.owner === 'alice') assert.equal(shards.shardOf(r.id), shards.shardOf('alice'), `${r.id} on alice's shard`);
    }
    const runMasters = new Set(await Promise.all(made.map((r) => cluster.masterOf(runs.keys(r.id).run))));
    assert.ok(runMasters.size > 1, `runs on ${runMasters.size} master(s)`);

    // Seeds: conversation ids derived on the run's shard; three each, two admitted (maxActive 2).
    const idsOf = new Map<string, string[]>();
    for (const r of made) {
      const ids = [0, 1, 2].map((k) => {
        const h = seedHash({ initialQuery: `q ${k}` });
        return r.owner ? ownedRunConversationId(secret, r.owner, r.id, h, shards) : runConversationId(r.id, h, shards);
      });
      for (const id of ids) assert.equal(shards.shardOf(id), shards.shardOf(r.id));
      idsOf.set(r.id, ids);
      const added = await runs.addSeeds(
        r.id,
        ids.map((id) => [id, '{"r":{},"h":"h"}']),
        { runMaxSeeds: 100, backlogMaxSeeds: 10_000, backlogMaxBytes: 10_000_000 },
      );
      assert.deepEqual(added, { accepted: 3, duplicates: 0, refused: 0 });
    }
    assert.equal((await runs.backlogTotals()).seeds, made.length * 3, 'every shard summed');
    for (const r of made) {
      const claimed = await runs.claim(r.id, 10);
      assert.deepEqual(
        claimed.map(([id]) => id),
        idsOf.get(r.id)!.slice(0, 2),
      );
      for (const [id] of claimed) assert.equal(await convsOf(r.id).createIfAbsent(id, settings(id, r.id), r.owner), null);
      await runs.admitted(
        r.id,
        claimed.map(([id]) => id),
      );
    }
    assert.equal((await runs.backlogTotals()).seeds, made.length, 'one seed of each run still waits');

    // One conversation of each run fails (finish.lua frees its run's slot and its owner's), is retried (retry.lua).
    for (const r of made) {
      const [first] = idsOf.get(r.id)!;
      assert.equal(await convsOf(r.id).finish(first!, 'failed', 'provider_error', 'boom'), true);
      assert.equal((await runs.get(r.id))!.active, 1);
      assert.equal(await runs.retry(r.id, first!, '{"r":{},"h":"h"}', convsOf(r.id).recordKeys(first!)), true);
      assert.equal((await runs.get(r.id))!.waiting, 2);
    }
    // Each key's slots in flight: one per run (on its shard for alice, summed over the shards bob's runs are on).
    const callers = new CallerStore(conn, shards);
    for (const c of [alice, bob]) assert.equal((await callers.usage(c.id!)).active, made.filter((r) => r.owner === c.id).length);

    // The lists: every shard's runs, newest first; an owner's from its own index.
    const created = new Map<string, number>();
    for (const r of made) created.set(r.id, (await runs.get(r.id))!.createdAt);
    assert.deepEqual(await runs.list(100), newestFirst(created));
    assert.deepEqual(await runs.list(5), newestFirst(created).slice(0, 5));
    assert.deepEqual(await runs.liveList(100), newestFirst(created));
    const alices = new Map([...created].filter(([id]) => made.find((r) => r.id === id)!.owner === 'alice'));
    assert.deepEqual(await runs.list(100, 'alice'), newestFirst(alices));

    // Cancel every run (cancel.lua), finish what is in flight; noted for the archive, then archived (archived.lua).
    for (const r of made) {
      assert.equal(await runs.cancel(r.id), 2, r.id);
      const second = idsOf.get(r.id)![1]!;
      assert.equal(await convsOf(r.id).finish(second, 'cancelled', 'cancelled'), true);
      await runs.archiveLater(r.id);
    }
    assert.deepEqual((await runs.backlogTotals()).seeds, 0);
    const noted = await runs.unarchived(Date.now() + 1, 100);
    assert.deepEqual([...noted].sort(), made.map((r) => r.id).sort(), 'every shard noted');
    const scores = await Promise.all(noted.map(async (id) => Number(await conn.zscore(runs.unarchivedKey(id), id))));
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => a - b),
      'oldest first',
    );
    for (const r of made) {
      const finished = await runs.finishedRun(r.id);
      assert.ok(finished && finished !== 'live', r.id);
      await archive.writeRun(finished);
      assert.equal(await runs.archived(r.id, 60), true, r.id);
    }
    assert.deepEqual(await runs.unarchived(Date.now() + 1, 100), []);
    assert.deepEqual(await runs.liveList(100), [], 'archived runs leave every runs index');
    assert.deepEqual(await runs.list(100), newestFirst(created), 'listed from the archive');
    // Live runs on several shards beside the archived ones: merged newest first.
    for (let i = 0; i < 4; i++) {
      const id = runIdOnShard(shards, i % 3, `later-${i}`);
      assert.equal(await runs.create(id, id, 1, 10), true);
      created.set(id, (await runs.get(id))!.createdAt);
    }
    assert.deepEqual(await runs.list(100), newestFirst(created), 'live and archived, newest first');

    // An empty run an upload created and failed is removed whole (discard.lua), owned or not.
    const empty = [runIdCandidates(shards, alice, 'empty')[0]!, runIdCandidates(shards, OWNERLESS_ADMIN, 'empty')[0]!];
    assert.equal(await runs.create(empty[0]!, 'e', 1, 10, 'alice'), true);
    assert.equal(await runs.create(empty[1]!, 'e', 1, 10), true);
    assert.equal(await runs.discardEmpty(empty[0]!, 'alice'), true);
    assert.equal(await runs.discardEmpty(empty[1]!), true);
  });

  it('a backlog cap is per shard: each shard holds ceil(cap / 3) of it', async () => {
    const shards = await spreadPrefix('caps');
    const runs = new RunStore(conn, shards);
    const on = (shard: number) => shards.newId(shard, (k) => `capped-${k}`);
    const caps = { runMaxSeeds: 100, backlogMaxSeeds: 4, backlogMaxBytes: 10_000_000 };
    const seeds = (run: string) => [0, 1, 2].map((k): [string, string] => [runConversationId(run, `h${k}`, shards), '{}']);
    for (const shard of [0, 1, 2]) {
      const run = on(shard);
      await runs.create(run, run, 1, 10);
      // ceil(4 / 3) = 2 on each shard: the third seed is refused, whatever the other shards hold.
      assert.deepEqual(await runs.addSeeds(run, seeds(run), caps), {
        accepted: 2,
        duplicates: 0,
        refused: 1,
        why: 'seeds',
        firstRefused: 2,
      });
      assert.deepEqual(await runs.shardBacklogTotals(run), { seeds: 2, bytes: 2 * (36 + 2) });
    }
    assert.equal((await runs.backlogTotals()).seeds, 6, 'the whole: 3 shards × 2, within ceil(4 / 3) × 3');
  });

  it('the whole stack with REDIS_SHARDS=3: runs of three keys and an owner-less one complete on their shards, listed newest first', async function () {
    this.timeout(120_000);
    const shards = await spreadPrefix('stack');
    const KEYS = { alice: 'sk-alice-31c9', bob: 'sk-bob-8e02', ops: 'sk-ops-5d7a' } as const;
    const LEGACY = 'sk-legacy-44b1';
    const sha = (k: string) => createHash('sha256').update(k).digest('hex');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-runshards-'));
    const file = path.join(dir, 'keys.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        keys: [
          { id: 'alice', name: 'Alice', sha256: sha(KEYS.alice), maxActive: 100 },
          { id: 'bob', name: 'Bob', sha256: sha(KEYS.bob) },
          { id: 'ops', name: 'Ops', sha256: sha(KEYS.ops), role: 'admin', maxActive: 100 },
        ],
      }),
    );
    let stack: TestStack | undefined;
    try {
      stack = await startTestStack({
        REDIS_URL: undefined,
        REDIS_CLUSTER_NODES: cluster.addresses.join(','),
        QUEUE_PREFIX: shards.global,
        REDIS_SHARDS: '3',
        API_KEYS_FILE: file,
        API_KEY: LEGACY,
      });
      const s = stack;
      const as = (key: string) => ({ 'x-api-key': key });
      const post = (key: string, route: string, n: number, tag: string) =>
        s.http.post(
          route,
          `${Array.from({ length: n }, (_, i) => JSON.stringify({ initialQuery: `${tag} question ${i}?`, maxTurns: 1 })).join('\n')}\n`,
          { headers: { ...as(key), 'content-type': 'application/x-ndjson' }, transformRequest: [(d) => d] },
        );
      // alice names hers (then appends to it), bob and ops let the producer draw ids, the owner-less admin names one;
      // alice's and ops's keys have limits (their runs on their shards), bob's none (his run anywhere).
      const submitted: { key: string; runId: string; seeds: number; stored: string }[] = [];
      const add = async (key: string, route: string, n: number, tag: string, owner?: Caller) => {
        const res = await post(key, route, n, tag);
        assert.equal(res.status, 202, JSON.stringify(res.data));
        const runId = res.data.runId as string;
        const caller = owner ?? OWNERLESS_ADMIN;
        const stored = runIdCandidates(shards, caller, runId)[0]!;
        submitted.push({ key, runId, seeds: n, stored });
        return res.data;
      };
      await add(KEYS.alice, '/runs?run=nightly', 4, 'alice', alice);
      await add(KEYS.bob, '/runs', 4, 'bob', bob);
      await add(KEYS.ops, '/runs', 4, 'ops', { id: 'ops', name: 'Ops', admin: true, maxActive: 100 });
      await add(LEGACY, '/runs?run=legacy-run', 4, 'legacy');
      const appended = await post(KEYS.alice, '/runs/nightly/seeds', 2, 'alice more');
      assert.equal(appended.status, 202, JSON.stringify(appended.data));
      assert.equal(appended.data.accepted, 2, 'the append found the run on its shard');
      submitted[0]!.seeds += 2;
      assert.equal(submitted[0]!.runId, 'nightly');

      for (const r of submitted) {
        let view: any;
        await until(
          async () => (view = (await s.http.get(`/runs/${r.runId}`, { headers: as(r.key) })).data).state === 'finished',
          60_000,
          `run ${r.runId}`,
        );
        assert.equal(view.byStatus.completed, r.seeds, JSON.stringify(view));
        // Every conversation of the run on the run's shard.
        const page = (await s.http.get(`/runs/${r.runId}/conversations?limit=100`, { headers: as(r.key) })).data;
        assert.equal(page.conversations.length, r.seeds);
        for (const c of page.conversations) assert.equal(shards.shardOf(c.conversationId), shards.shardOf(r.stored), c.conversationId);
      }
      assert.equal(shards.shardOf(submitted[0]!.stored), shards.shardOf('alice'));
      assert.equal(shards.shardOf(submitted[2]!.stored), shards.shardOf('ops'));
      const masters = new Set(await Promise.all(submitted.map((r) => cluster.masterOf(shards.at(r.stored)))));
      assert.ok(masters.size >= 2, `the runs on ${masters.size} masters`);

      // An admin lists every shard's runs, newest first; a key its own only.
      const all = (await s.http.get('/runs', { headers: as(KEYS.ops) })).data.runs as { runId: string; createdAt: string }[];
      assert.deepEqual(
        all.map((v) => v.runId).sort(),
        ['alice.nightly', `bob.${submitted[1]!.runId}`, submitted[2]!.runId, 'legacy-run'].sort(),
      );
      const times = all.map((v) => Date.parse(v.createdAt));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );
      assert.deepEqual(
        ((await s.http.get('/runs', { headers: as(KEYS.alice) })).data.runs as { runId: string }[]).map((v) => v.runId),
        ['nightly'],
      );

      // The export reads the run on its shard; a cancel of a finished run runs its script there too.
      const exported = await s.http.get('/runs/nightly/export?format=openai', { headers: as(KEYS.alice), responseType: 'text' });
      assert.equal(exported.status, 200);
      assert.equal(String(exported.data).trim().split('\n').length, 6);
      assert.equal((await s.http.get('/runs/alice.nightly', { headers: as(KEYS.ops) })).data.runId, 'alice.nightly');
      const cancelled = await s.http.delete(`/runs/${submitted[1]!.runId}`, { headers: as(KEYS.bob) });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.data));
      assert.equal(cancelled.data.state, 'cancelled');
    } finally {
      await stack?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
