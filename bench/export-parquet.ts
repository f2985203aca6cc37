/**
 * `export_parquet_ratio_vs_jsonl`, `export_parquet_peak_rss_mb`, `export_parquet_rss_ratio`: runs of
 * 2,000 and 20,000 finished 3-turn conversations (written straight into Redis, as for
 * `bench/export-speed.ts`), each export in a fresh child process (`bench/export-server.ts`: the
 * export route alone) read as fast as it comes. The ratio is Parquet's conversations/s over
 * OpenAI JSONL's on the 20,000 run, best of two interleaved rounds each; the RSS ratio is the
 * Parquet export's peak RSS (the child's maxRSS) at 20,000 over that at 2,000: flat is ≈ 1. The
 * JSONL export is measured on both runs too (the reference: its RSS at 2,000 and 20,000).
 */
import { Redis } from 'ioredis';
import { ConversationStore } from '../store/conversation-store';
import { writeRun } from '../test/helpers/run-fixtures';
import type { BenchContext } from './bench-context';
import { forkBenchChild } from './child-process';

export interface OneExport {
  format: 'openai' | 'parquet';
  conversations: number;
  bytes: number;
  seconds: number;
  conversationsPerSec: number;
  peakRssMb: number;
  idleRssMb: number;
}

export interface ParquetExportResult {
  small: number;
  large: number;
  runs: OneExport[];
  jsonlPerSec: number;
  parquetPerSec: number;
  ratio: number;
  parquetPeakRssSmallMb: number;
  parquetPeakRssLargeMb: number;
  rssRatio: number;
  /** The OpenAI JSONL export's peak RSS on the same runs (the reference: what an export costs without Parquet). */
  jsonlPeakRssSmallMb: number;
  jsonlPeakRssLargeMb: number;
  writeSeconds: number;
}

/** One export of `runId` in `format` by a fresh child; checks the size of what came back. */
async function exportOnce(ctx: BenchContext, prefix: string, runId: string, n: number, format: 'openai' | 'parquet'): Promise<OneExport> {
  const child = forkBenchChild('export-server.ts');
  try {
    child.send({ type: 'start', redisUrl: ctx.redisUrl, prefix });
    const ready = await child.next<{ port: number; rssBytes: number }>('ready');
    const started = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${ready.port}/runs/${runId}/export?format=${format}`);
    if (!res.ok || !res.body) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let lines = 0;
    let tail: Uint8Array = new Uint8Array(0);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (format === 'openai') for (const b of chunk) if (b === 0x0a) lines++;
      tail = chunk;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (format === 'openai' && lines !== n) throw new Error(`export wrote ${lines} lines for ${n} conversations`);
    if (format === 'parquet' && Buffer.from(tail.subarray(-4)).toString('latin1') !== 'PAR1')
      throw new Error('the Parquet export does not end with PAR1');
    child.send({ type: 'stop' });
    const stopped = await child.next<{ maxRssBytes: number }>('stopped');
    return {
      format,
      conversations: n,
      bytes,
      seconds,
      conversationsPerSec: n / seconds,
      peakRssMb: stopped.maxRssBytes / 2 ** 20,
      idleRssMb: ready.rssBytes / 2 ** 20,
    };
  } finally {
    child.kill();
  }
}

export async function measureParquetExport(ctx: BenchContext): Promise<ParquetExportResult> {
  const small = 2000;
  const large = 20_000;
  const prefix = ctx.prefix('export-pq');
  const redis = new Redis(ctx.redisUrl);
  try {
    const store = new ConversationStore(redis, { prefix, retentionSeconds: 3600 });
    const t0 = Date.now();
    const convs = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, turns: 3, padding: 300, meta: { row: i, source: 'bench' } }));
    await writeRun(redis, store, 'pq-small', convs(small, 's'), 128);
    await writeRun(redis, store, 'pq-large', convs(large, 'l'), 128);
    const writeSeconds = (Date.now() - t0) / 1000;
    ctx.progress(`export-parquet: ${small} + ${large} conversations written in ${writeSeconds.toFixed(1)} s`);
    const runs: OneExport[] = [];
    for (let round = 0; round < 2; round++) {
      runs.push(await exportOnce(ctx, prefix, 'pq-large', large, 'openai'));
      runs.push(await exportOnce(ctx, prefix, 'pq-large', large, 'parquet'));
      runs.push(await exportOnce(ctx, prefix, 'pq-small', small, 'parquet'));
      runs.push(await exportOnce(ctx, prefix, 'pq-small', small, 'openai'));
    }
    const best = (f: (r: OneExport) => boolean) => Math.max(...runs.filter(f).map((r) => r.conversationsPerSec));
    const peakOf = (format: OneExport['format'], n: number) =>
      Math.min(...runs.filter((r) => r.format === format && r.conversations === n).map((r) => r.peakRssMb));
    const peak = (n: number) => peakOf('parquet', n);
    const jsonlPerSec = best((r) => r.format === 'openai' && r.conversations === large);
    const parquetPerSec = best((r) => r.format === 'parquet' && r.conversations === large);
    return {
      small,
      large,
      runs,
      jsonlPerSec,
      parquetPerSec,
      ratio: parquetPerSec / jsonlPerSec,
      parquetPeakRssSmallMb: peak(small),
      parquetPeakRssLargeMb: peak(large),
      rssRatio: peak(large) / peak(small),
      jsonlPeakRssSmallMb: peakOf('openai', small),
      jsonlPeakRssLargeMb: peakOf('openai', large),
      writeSeconds,
    };
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
  }
}
