/**
 * The archive's keys (issue 25), all on the embedded default (SQLite in a temp dir, beside the
 * bench's private Redis):
 *
 * - `archive_redis_memory_ratio_10k_1k`: Redis `used_memory` after 10,000 finished and archived
 *   conversations (2,000 with --quick) ÷ after 1,000, each measured once their grace
 *   (REDIS_RETENTION_SECONDS = 1) is over and a SCAN has expired what is due, less the capped list
 *   of latest conversations (10,000 ids, as BullMQ's capped streams): used_memory itself, not a
 *   difference above an empty Redis. Flat is 1. Noted
 *   beside it: bytes per finished conversation still in Redis (before its grace is over) and per
 *   live one (queued, not finished).
 * - `archive_write_ms_cpu`: this process's CPU per archive write (ending/archive-finished.ts:
 *   the record and turns from Redis, the judgement, the upsert, the Redis MULTI), ms.
 * - `archive_export_ratio`: conversations/s of an OpenAI export of a run whose 10,000 conversations
 *   (2,000 with --quick) are only in the archive ÷ the same export while they are in Redis (the
 *   export route in a child, bench/export-server.ts, as `export_conversations_per_sec`); the peak
 *   RSS of each is noted. The two exports must be byte-identical (else the phase fails).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { archiveFinished } from '../ending/archive-finished';
import { SqlArchive } from '../store/archive/sql-archive';
import { openSqliteDriver } from '../store/archive/sqlite-driver';
import { ConversationStore } from '../store/conversation-store';
import { runKeys } from '../store/run-keys';
import { RunStore } from '../store/run-store';
import { archiveRun } from '../ending/archive-run';
import type { CloudStep, ConversationSettings, LocalStep, TurnRecord } from '../conversation/model';
import { DEFAULT_TEMPLATES, followUpPrompt, questionFor } from '../conversation/turn-rules';
import type { BenchContext } from './bench-context';
import { forkBenchChild } from './child-process';

export interface ArchiveBenchResult {
  memory: {
    latestListBytes: number;
    usedAfter1k: number;
    usedAfter10k: number;
    ratio: number;
    bytesPerFinishedInRedis: number;
    bytesPerLive: number;
    runKeyBytesPerConversation: number;
    n: number;
  };
  write: {
    conversations: number;
    cpuMsPerConversation: number;
    wallMsPerConversation: number;
    redisRoundTrips: number;
    sqlStatements: number;
  };
  export: {
    conversations: number;
    redisPerSec: number;
    archivePerSec: number;
    ratio: number;
    redisPeakRssMb: number;
    archivePeakRssMb: number;
    bytes: number;
  };
}

/** Finished 3-turn conversations of run `runId` (its set in admission order), `padding` characters more per answer, through the store's write path. */
async function writeRun(
  redis: Redis,
  store: ConversationStore,
  runId: string,
  convs: { id: string; turns: number; padding?: number; noRun?: boolean; status?: 'running'; meta?: Record<string, unknown> }[],
  concurrency: number,
): Promise<void> {
  const one = async (c: (typeof convs)[number], score: number) => {
    const settings: ConversationSettings = {
      initialQuery: `Seed question ${c.id}: why is the sky blue?`,
      outputFile: `conversation-${c.id}.csv`,
      maxTurns: c.turns,
      timeoutMinutes: 30,
      cloudModel: 'amazon.nova-micro-v1:0',
      localModel: 'llama3.2',
      contextTurns: 2,
      templates: { ...DEFAULT_TEMPLATES },
      systemPrompts: {},
      ...(c.noRun ? {} : { run: { id: runId, seedHash: `seed-${c.id}`, ...(c.meta ? { meta: c.meta } : {}) } }),
    };
    const { record } = await store.create(c.id, settings);
    const t0 = record!.createdAt;
    const pad = c.padding ? ` ${'x'.repeat(c.padding)}` : '';
    const done: TurnRecord[] = [];
    for (let k = 1; k <= c.turns; k++) {
      const question = questionFor(settings, done, k);
      const cloud: CloudStep = {
        question,
        answer: `Answer ${k} of ${c.id}.${pad}`,
        model: settings.cloudModel,
        inputTokens: 10 + k,
        outputTokens: 20 + k,
        latencyMs: 100 + k,
        stopReason: 'end_turn',
        startedAt: t0 + 1000 * k,
        at: t0 + 1000 * k + 100,
      };
      await store.recordStep(record!, 'cloud', k, cloud);
      const local: LocalStep = {
        prompt: followUpPrompt(settings, question, cloud.answer),
        followUp: `Follow-up ${k} of ${c.id}?`,
        model: settings.localModel,
        inputTokens: 30 + k,
        outputTokens: 40 + k,
        latencyMs: 50 + k,
        stopReason: 'stop',
        at: t0 + 1000 * k + 500,
      };
      await store.recordStep(record!, 'local', k, local);
      done.push({ turn: k, cloud, local });
    }
    if (c.status === 'running') await store.markRunning(c.id);
    else await store.finish(c.id, 'completed', 'max_turns');
    await redis.zadd(runKeys(store.prefix, runId).conversations, score, c.id);
  };
  for (let i = 0; i < convs.length; i += concurrency) {
    await Promise.all(convs.slice(i, i + concurrency).map((c, j) => one(c, i + j + 1)));
  }
}

const usedMemory = async (admin: Redis) => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);

/** SCAN every key: Redis expires each one past its TTL as it is read. */
async function expireDue(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
  } while (cursor !== '0');
}

async function exportOnce(archiveFile: string | undefined, ctx: BenchContext, prefix: string, runId: string) {
  const child = forkBenchChild('export-server.ts');
  try {
    child.send({ type: 'start', redisUrl: ctx.redisUrl, prefix, ...(archiveFile ? { archiveFile } : {}) });
    const ready = await child.next<{ port: number }>('ready');
    const started = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${ready.port}/runs/${runId}/export?format=openai&metadata=true`);
    if (!res.ok) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    const body = Buffer.from(await res.arrayBuffer());
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    child.send({ type: 'stop' });
    const stopped = await child.next<{ maxRssBytes: number }>('stopped');
    return { body, seconds, peakRssMb: stopped.maxRssBytes / 2 ** 20 };
  } finally {
    child.kill();
  }
}

export async function measureArchive(ctx: BenchContext): Promise<ArchiveBenchResult> {
  const n = ctx.quick ? 2000 : 10_000;
  const first = 1000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-archive-'));
  const file = path.join(dir, 'archive.sqlite');
  const archive = await SqlArchive.open(await openSqliteDriver(file));
  const redis = new Redis(ctx.redisUrl);
  try {
    // 1. Memory: conversations finished and archived, their 1 s grace over.
    const prefix = ctx.prefix('archive');
    const store = new ConversationStore(redis, { prefix, retentionSeconds: 3600, archivedRetentionSeconds: 1 });
    // The phases run one after another: what earlier ones left (and its freeing) must not move the baseline.
    await ctx.admin.flushall('SYNC');
    await redis.call('MEMORY', 'PURGE').catch(() => undefined);
    const base = await usedMemory(ctx.admin);
    let cpuUs = 0;
    let wallMs = 0;
    let written = 0;
    const batch = async (from: number, to: number) => {
      const convs = Array.from({ length: to - from }, (_, i) => ({ id: `a-${from + i}`, turns: 3, padding: 300, noRun: true }));
      await writeRun(redis, store, 'bench-archive-mem', convs, 128);
      // These are no run's (noRun): the fixture's ZADD to a run's set is not theirs to keep.
      await redis.del(runKeys(prefix, 'bench-archive-mem').conversations);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const c of convs) await archiveFinished({ store, archive }, c.id);
      const c1 = process.cpuUsage(c0);
      cpuUs += c1.user + c1.system;
      wallMs += performance.now() - t0;
      written += convs.length;
    };
    await batch(0, first);
    const beforeGrace = await usedMemory(ctx.admin);
    await new Promise((r) => setTimeout(r, 1500));
    await expireDue(redis);
    // The list of latest conversations is capped (10,000 ids: ConversationStore's recentLimit), like BullMQ's streams: left out.
    const capped = async () => Number((await redis.call('MEMORY', 'USAGE', `${prefix}:latest`)) ?? 0);
    const latest1k = await capped();
    const after1k = (await usedMemory(ctx.admin)) - latest1k;
    ctx.progress(`archive: ${first} archived, used_memory ${after1k} B`);
    await batch(first, n);
    await new Promise((r) => setTimeout(r, 1500));
    await expireDue(redis);
    const latest10k = await capped();
    const after10k = (await usedMemory(ctx.admin)) - latest10k;
    ctx.progress(`archive: ${n} archived, used_memory ${after10k} B`);

    // What a finished run keeps per conversation once it is archived too (ending/archive-run.ts) and its grace is over.
    const runPrefix = ctx.prefix('archive-run');
    const runStore = new ConversationStore(redis, { prefix: runPrefix, retentionSeconds: 3600, archivedRetentionSeconds: 1 });
    const runConvs = Array.from({ length: 1000 }, (_, i) => ({ id: `r-${i}`, turns: 1 }));
    const runs = new RunStore(redis, runPrefix);
    await runs.create('bench-archive-run', 'bench', undefined, 10);
    await writeRun(redis, runStore, 'bench-archive-run', runConvs, 128);
    for (const c of runConvs) await archiveFinished({ store: runStore, archive }, c.id);
    const runOutcome = await archiveRun({ runs, store: runStore, archive }, 'bench-archive-run');
    if (runOutcome !== 'archived') throw new Error(`the bench run was not archived: ${runOutcome}`);
    await new Promise((r) => setTimeout(r, 1500));
    await expireDue(redis);
    // MEMORY USAGE of every key left under the run's prefix but the capped latest list (a used_memory
    // difference of ~100 KB is the allocator's noise): the run's and its conversations' keys, if any remain.
    let left = 0;
    let cur = '0';
    do {
      const [next, keys] = await redis.scan(cur, 'MATCH', `${runPrefix}:*`, 'COUNT', 1000);
      cur = next;
      for (const key of keys) if (key !== `${runPrefix}:latest`) left += Number((await redis.call('MEMORY', 'USAGE', key)) ?? 0);
    } while (cur !== '0');
    const runKeyBytes = left / 1000;
    // Live conversations (queued records) for the per-live figure.
    const livePrefix = ctx.prefix('archive-live');
    const live = new ConversationStore(redis, { prefix: livePrefix, retentionSeconds: 3600 });
    const liveBefore = await usedMemory(ctx.admin);
    await writeRun(
      redis,
      live,
      'bench-live',
      Array.from({ length: 1000 }, (_, i) => ({ id: `l-${i}`, turns: 3, padding: 300, status: 'running' as const })),
      128,
    );
    const bytesPerLive = (await usedMemory(ctx.admin)) - liveBefore;

    // 2. Export: the same run in Redis (fresh), then only in the archive.
    const exPrefix = ctx.prefix('archive-export');
    const exStore = new ConversationStore(redis, { prefix: exPrefix, retentionSeconds: 3600 });
    const convs = Array.from({ length: n }, (_, i) => ({ id: `x-${i}`, turns: 3, padding: 300, meta: { row: i, source: 'bench' } }));
    await writeRun(redis, exStore, 'bench-run', convs, 128);
    const fresh = await exportOnce(undefined, ctx, exPrefix, 'bench-run');
    for (const c of convs) await archiveFinished({ store: exStore, archive }, c.id);
    for (let i = 0; i < convs.length; i += 500) {
      const keys = convs.slice(i, i + 500).flatMap((c) => exStore.recordKeys(c.id));
      await redis.del(...keys);
    }
    const archived = await exportOnce(file, ctx, exPrefix, 'bench-run');
    if (!fresh.body.equals(archived.body))
      throw new Error(`the export from the archive (${archived.body.length} B) differs from the one from Redis (${fresh.body.length} B)`);

    return {
      memory: {
        latestListBytes: latest10k,
        usedAfter1k: after1k,
        usedAfter10k: after10k,
        // The measure: used_memory itself, after 10,000 ÷ after 1,000 (a difference above an
        // "empty" baseline is noise-bound: what earlier phases' connections hold moves it).
        ratio: after10k / after1k,
        bytesPerFinishedInRedis: (beforeGrace - base) / first,
        bytesPerLive: bytesPerLive / 1000,
        runKeyBytesPerConversation: runKeyBytes,
        n,
      },
      write: {
        conversations: written,
        cpuMsPerConversation: cpuUs / 1000 / written,
        wallMsPerConversation: wallMs / written,
        // Counted from ending/archive-finished.ts as this bench calls it (no judge store): the LOAD
        // script, the forks list (ZRANGE and EXISTS in one MULTI), the MULTI of `archived`; one
        // upsert (no forks here). The ending's own call adds the judgement's read: 4.
        redisRoundTrips: 3,
        sqlStatements: 1,
      },
      export: {
        conversations: n,
        redisPerSec: n / fresh.seconds,
        archivePerSec: n / archived.seconds,
        ratio: fresh.seconds / archived.seconds,
        redisPeakRssMb: fresh.peakRssMb,
        archivePeakRssMb: archived.peakRssMb,
        bytes: fresh.body.length,
      },
    };
  } finally {
    await archive.close();
    fs.rmSync(dir, { recursive: true, force: true });
    const keys = await redis.keys('*archive*');
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
  }
}
