/**
 * `redis_bytes_per_conversation`: Redis memory a finished 5-turn conversation keeps, with the
 * default retention (RETENTION_SECONDS) and default MAX_TURNS, text excluded.
 *
 * Method: on the bench's own redis-server (flushed first), run the real pipeline until K
 * conversations are `completed` and every queue is empty (jobs are removed on completion), then
 * take `INFO memory` used_memory minus the baseline taken before them. Two things are taken out:
 *  - the text: the bytes of every stored text (initial query, questions, answers, follow-up
 *    prompts and follow-ups, as JSON-escaped in the records) are read back and subtracted — what is
 *    left is the cost of the records themselves (keys, fields, metadata, TTLs, index entries).
 *    The texts are the emulators' ordinary replies (tens of words), not one-word ones: Redis keeps
 *    small hashes in a compact encoding (listpack) only while every value is ≤ 64 bytes, so tiny
 *    texts would measure a cheaper encoding than real conversations get;
 *  - BullMQ's event streams (`<prefix>:<queue>:events`), whose growth is measured with MEMORY
 *    USAGE and reported apart: they are capped (10,000 events per queue) and do not grow with the
 *    number of conversations kept.
 * The full run measures at 1,000 and again at 10,000 conversations to show whether the cost is flat.
 */
import type { Redis } from 'ioredis';
import { QUEUE_NAMES } from '../queue/job-types';
import { sleep, type BenchContext } from './bench-context';
import { startPipelineRig, type PipelineRig } from './pipeline-rig';

export interface RedisMemoryPoint {
  conversations: number;
  usedMemoryDelta: number;
  streamsDelta: number;
  textBytes: number;
  /** (usedMemoryDelta − streamsDelta − textBytes) / conversations. */
  bytesPerConversation: number;
  /** The same with the text left in, for reference. */
  bytesPerConversationWithText: number;
  seconds: number;
}

export interface RedisMemoryResult {
  retentionSeconds: number;
  maxTurns: number;
  points: RedisMemoryPoint[];
  /** Between the first and the last point, per added conversation (text and streams out). */
  marginalBytesPerConversation?: number;
  /** MEMORY USAGE of one finished conversation's keys and its TTLs. */
  sample: { conversationHash: number; conversationHashEncoding: string; turnsHash: number; ttlSeconds: number; latestListPerEntry: number };
}

async function usedMemory(admin: Redis): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const info = await admin.info('memory');
    min = Math.min(min, Number(/used_memory:(\d+)/.exec(info)![1]));
    await sleep(50);
  }
  return min;
}

async function streamsBytes(admin: Redis, prefix: string): Promise<number> {
  let sum = 0;
  for (const q of Object.values(QUEUE_NAMES))
    sum += Number((await admin.call('MEMORY', 'USAGE', `${prefix}:${q}:events`, 'SAMPLES', '0')) ?? 0);
  return sum;
}

const jsonBytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(JSON.stringify(s)) - 2);

async function textBytesOf(rig: PipelineRig, ids: string[]): Promise<number> {
  let sum = 0;
  for (let i = 0; i < ids.length; i += 200) {
    const batch = ids.slice(i, i + 200);
    const parts = await Promise.all(
      batch.map(async (id) => {
        const { record: rec, turns } = (await rig.store.getConversation(id))!;
        let n = jsonBytes(rec.settings.initialQuery);
        for (const t of turns)
          n += jsonBytes(t.cloud?.question) + jsonBytes(t.cloud?.answer) + jsonBytes(t.local?.prompt) + jsonBytes(t.local?.followUp);
        return n;
      }),
    );
    sum += parts.reduce((a, b) => a + b, 0);
  }
  return sum;
}

async function waitIdle(rig: PipelineRig): Promise<void> {
  for (;;) {
    const counts = await Promise.all(rig.queues.all.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
    if (counts.every((c) => Object.values(c).every((n) => n === 0))) break;
    await sleep(50);
  }
  // Let the workers' last completions and the AOF buffer settle.
  await sleep(300);
}

/** Runs `count` conversations through the pipeline with at most `inFlight` unfinished at a time. */
async function runConversations(rig: PipelineRig, count: number, inFlight: number): Promise<string[]> {
  const ids: string[] = [];
  const body = { initialQuery: 'What is the meaning of life?' };
  const before = rig.events.finishedCount;
  const open = () => ids.length - (rig.events.finishedCount - before);
  for (let i = 0; i < count; i++) {
    if (open() >= inFlight) await rig.events.until(() => open() < inFlight, 120_000, 'a conversation to finish');
    ids.push((await rig.service.submit(body)).id);
  }
  await rig.events.until(() => rig.events.finishedCount - before >= count, 300_000, `${count} conversations to finish`);
  return ids;
}

export async function measureRedisMemory(ctx: BenchContext, checkpoints: number[]): Promise<RedisMemoryResult> {
  await ctx.admin.flushall();
  const prefix = ctx.prefix('mem');
  const rig = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix,
    latencyMs: 0,
    env: { CLOUD_CONCURRENCY: '16', LOCAL_CONCURRENCY: '16', TRANSCRIPT_CONCURRENCY: '8' },
  });
  try {
    // Warm-up: queues, scripts and fixed keys exist before the baseline.
    await runConversations(rig, 20, 20);
    await waitIdle(rig);
    const base = await usedMemory(ctx.admin);
    const streams0 = await streamsBytes(ctx.admin, prefix);
    const points: RedisMemoryPoint[] = [];
    const ids: string[] = [];
    let textBytes = 0;
    const t0 = performance.now();
    for (const target of checkpoints) {
      const more = await runConversations(rig, target - ids.length, 200);
      ids.push(...more);
      await waitIdle(rig);
      textBytes += await textBytesOf(rig, more);
      const failed = [...rig.events.terminal].filter(([s]) => s !== 'completed');
      if (failed.length > 0) throw new Error(`conversations did not all complete: ${JSON.stringify(failed)}`);
      const delta = (await usedMemory(ctx.admin)) - base;
      const streamsDelta = (await streamsBytes(ctx.admin, prefix)) - streams0;
      const n = ids.length;
      points.push({
        conversations: n,
        usedMemoryDelta: delta,
        streamsDelta,
        textBytes,
        bytesPerConversation: (delta - streamsDelta - textBytes) / n,
        bytesPerConversationWithText: (delta - streamsDelta) / n,
        seconds: (performance.now() - t0) / 1000,
      });
      ctx.progress(
        `redis memory: ${n} conversations: ${((delta - streamsDelta - textBytes) / n).toFixed(0)} B each (text and streams out)`,
      );
    }
    const first = points[0]!;
    const last = points[points.length - 1]!;
    const marginal =
      points.length > 1
        ? (last.usedMemoryDelta - last.streamsDelta - last.textBytes - (first.usedMemoryDelta - first.streamsDelta - first.textBytes)) /
          (last.conversations - first.conversations)
        : undefined;
    const id = ids[ids.length - 1]!;
    const usage = async (key: string) => Number((await ctx.admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    const latestKey = `${prefix}:latest`;
    const sample = {
      conversationHash: await usage(`${prefix}:conv:{${id}}`),
      conversationHashEncoding: String(await ctx.admin.object('ENCODING', `${prefix}:conv:{${id}}`)),
      turnsHash: await usage(`${prefix}:conv:{${id}}:turns`),
      ttlSeconds: await ctx.admin.ttl(`${prefix}:conv:{${id}}`),
      latestListPerEntry: (await usage(latestKey)) / Math.max(1, await ctx.admin.llen(latestKey)),
    };
    return {
      retentionSeconds: rig.config.retentionSeconds,
      maxTurns: rig.config.maxTurns,
      points,
      marginalBytesPerConversation: marginal,
      sample,
    };
  } finally {
    await rig.close();
  }
}
