/**
 * `bullmq_hop_ms_p50`: one raw BullMQ hop — `queue.add()` called until an empty processor starts —
 * one job at a time, with the worker options the pipeline uses (lock and stall settings from the
 * default config). This is the unit the turn overhead is compared with ("≤ 4 raw hops").
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { loadConfig } from '../shared/config';
import { createWorkerConnection, waitReady } from '../shared/redis-connection';
import { sleep, type BenchContext } from './bench-context';
import { summarize, type Summary } from './stats';

export async function measureBullmqHop(ctx: BenchContext): Promise<Summary> {
  const config = loadConfig({});
  const prefix = ctx.prefix('hop');
  const conn = createWorkerConnection(ctx.redisUrl);
  await waitReady(conn);
  const connection = conn as unknown as ConnectionOptions;
  const queue = new Queue('hop', { connection, prefix });
  let started: (t: number) => void = () => undefined;
  const worker = new Worker('hop', async () => started(performance.now()), {
    connection,
    prefix,
    concurrency: 1,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
  });
  try {
    await worker.waitUntilReady();
    const n = ctx.quick ? 300 : 2000;
    const warmup = 50;
    const samples: number[] = [];
    for (let i = 0; i < n + warmup; i++) {
      const begun = new Promise<number>((r) => (started = r));
      const done = new Promise<void>((r) => worker.once('completed', () => r()));
      const t = performance.now();
      await queue.add('hop', { i }, { removeOnComplete: true, jobId: `hop-${i}` });
      const s = await begun;
      await done;
      if (i >= warmup) samples.push(s - t);
      // Let the worker go back to its blocking wait: the hop measured is the idle-worker hop a
      // conversation's next step takes.
      await sleep(2);
    }
    return summarize(samples);
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    conn.disconnect();
  }
}
