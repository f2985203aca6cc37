/**
 * `export_conversations_per_sec` and `export_peak_rss_mb`: a run of N finished 3-turn
 * conversations (10,000; 2,000 with --quick), written straight into Redis through the store's write
 * path (not through the LLM pipeline), exported as OpenAI JSONL over HTTP by the export route
 * alone in a child process (`bench/export-server.ts`) and read by this process as fast as it
 * comes. Rate = conversations ÷ seconds from request to last byte; peak RSS = the child's maxRSS
 * over its whole life (its idle RSS is noted beside it).
 */
import { Redis } from 'ioredis';
import { ConversationStore } from '../store/conversation-store';
import { writeRun } from '../test/helpers/run-fixtures';
import type { BenchContext } from './bench-context';
import { forkBenchChild } from './child-process';

export interface ExportSpeedResult {
  conversations: number;
  bytes: number;
  seconds: number;
  conversationsPerSec: number;
  megabytesPerSec: number;
  peakRssMb: number;
  idleRssMb: number;
  serverCpuMsPerConversation: number;
  writeSeconds: number;
}

export async function measureExportSpeed(ctx: BenchContext): Promise<ExportSpeedResult> {
  const n = ctx.quick ? 2000 : 10_000;
  const prefix = ctx.prefix('export');
  const redis = new Redis(ctx.redisUrl);
  const child = forkBenchChild('export-server.ts');
  try {
    const store = new ConversationStore(redis, { prefix, retentionSeconds: 3600 });
    const t0 = Date.now();
    const convs = Array.from({ length: n }, (_, i) => ({ id: `x-${i}`, turns: 3, padding: 300, meta: { row: i, source: 'bench' } }));
    await writeRun(redis, store, 'bench-run', convs, 128);
    const writeSeconds = (Date.now() - t0) / 1000;
    ctx.progress(`export: ${n} conversations written in ${writeSeconds.toFixed(1)} s`);
    child.send({ type: 'start', redisUrl: ctx.redisUrl, prefix });
    const ready = await child.next<{ port: number; rssBytes: number }>('ready');
    const started = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${ready.port}/runs/bench-run/export?format=openai`);
    if (!res.ok || !res.body) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let lines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 0x0a) lines++;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (lines !== n) throw new Error(`export wrote ${lines} lines for ${n} conversations`);
    child.send({ type: 'stop' });
    const stopped = await child.next<{ maxRssBytes: number; cpuMs: number }>('stopped');
    return {
      conversations: n,
      bytes,
      seconds,
      conversationsPerSec: n / seconds,
      megabytesPerSec: bytes / 1e6 / seconds,
      peakRssMb: stopped.maxRssBytes / 2 ** 20,
      idleRssMb: ready.rssBytes / 2 ** 20,
      serverCpuMsPerConversation: stopped.cpuMs / n,
      writeSeconds,
    };
  } finally {
    child.kill();
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
  }
}
