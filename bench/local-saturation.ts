/**
 * `local_saturation`: with both emulators at a fixed latency and local worker concurrency P, the
 * share of the local model's P slots that are busy (a local call in flight) while local work is
 * queued. The local queue's waiting count is sampled every few ms; only the intervals in which
 * work was waiting count, so the figure is "how much of the available model time the pipeline
 * wastes between calls" — job completion, fetching the next job, reading the conversation.
 * The bare BullMQ chain (`bullmq-chain.ts`) is measured the same way, as the floor; the two take
 * turns in short windows (the other one paused), so drifting machine load hits both alike.
 */
import { randomUUID } from 'node:crypto';
import { parseConversationRequest } from '../conversation/conversation-request';
import { sleep, type BenchContext } from './bench-context';
import { startBullmqChain } from './bullmq-chain';
import { startPipelineRig, type PipelineRig } from './pipeline-rig';
import type { CallTiming } from './timed-provider';

export interface LocalSaturationResult {
  latencyMs: number;
  slots: number;
  conversations: number;
  windowMs: number;
  saturation: number;
  /** Share of the window in which local work was waiting. */
  queuedShare: number;
  /** Mean gap between a slot's calls (ms) = time the pipeline holds a slot idle between calls. */
  meanGapMs: number;
  /** The same for the bare BullMQ chain. */
  chain: WindowResult;
}

interface WindowResult {
  saturation: number;
  queuedShare: number;
  meanGapMs: number;
}

/** Sums of one system's windows. */
interface Acc {
  capacity: number;
  busy: number;
  queued: number;
  span: number;
  idle: number;
  started: number;
}

const newAcc = (): Acc => ({ capacity: 0, busy: 0, queued: 0, span: 0, idle: 0, started: 0 });
const resultOf = (a: Acc): WindowResult => ({
  saturation: a.capacity > 0 ? a.busy / a.capacity : Number.NaN,
  queuedShare: a.queued / a.span,
  meanGapMs: a.started > 0 ? a.idle / a.started : Number.NaN,
});

/** Time the intervals in `calls` cover inside [a, b), summed (calls may overlap each other). */
function busyWithin(calls: CallTiming[], a: number, b: number): number {
  let sum = 0;
  for (const c of calls) {
    const s = Math.max(a, c.start);
    const e = Math.min(b, c.end);
    if (e > s) sum += e - s;
  }
  return sum;
}

/** Samples the local queue for `windowMs` and adds the slots' busy time while work waited to `acc`. */
async function window(
  rig: PipelineRig,
  slots: number,
  latencyMs: number,
  windowMs: number,
  waiting: () => Promise<number>,
  acc: Acc,
): Promise<void> {
  rig.timings.length = 0;
  const samples: { t: number; waiting: number }[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < windowMs) {
    const t = performance.now();
    samples.push({ t, waiting: await waiting() });
    await sleep(5);
  }
  const tEnd = performance.now();
  samples.push({ t: tEnd, waiting: 0 });
  // Let calls that overlap the window end finish, so their intervals are known.
  await sleep(latencyMs * 3);
  // Calls in flight when the window opened were recorded when they ended (with their real start).
  const calls = rig.timings.filter((c) => c.side === 'local');
  for (let i = 0; i + 1 < samples.length; i++) {
    const a = samples[i]!;
    const b = samples[i + 1]!;
    if (a.waiting <= 0) continue;
    acc.queued += b.t - a.t;
    acc.capacity += slots * (b.t - a.t);
    acc.busy += busyWithin(calls, a.t, b.t);
  }
  acc.span += tEnd - t0;
  acc.started += calls.filter((c) => c.start >= t0 && c.start < tEnd).length;
  acc.idle += slots * (tEnd - t0) - busyWithin(calls, t0, tEnd);
}

export async function measureLocalSaturation(ctx: BenchContext, latencyMs = 50, slots = 4): Promise<LocalSaturationResult> {
  const conversations = slots * 4;
  const rounds = ctx.quick ? 2 : 3;
  const warmupMs = 1000;
  const windowMs = ctx.quick ? 2500 : 4000;
  const rig = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('sat'),
    latencyMs,
    env: { LOCAL_CONCURRENCY: String(slots), CLOUD_CONCURRENCY: String(conversations) },
  });
  const chain = await startBullmqChain({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('sat-chain'),
    config: rig.config,
    cloud: rig.cloud,
    local: rig.local,
  });
  const workers = rig.host!.workers;
  const acc = { chain: newAcc(), pipeline: newAcc() };
  try {
    const body = { initialQuery: 'What is the meaning of life?', maxTurns: 1000 };
    await chain.pause();
    await Promise.all(workers.map((w) => w.pause()));
    for (let i = 0; i < conversations; i++) {
      const id = randomUUID();
      // Never awaited: these conversations are cut off when the chain closes.
      void chain.run(id, parseConversationRequest(body, rig.config, id));
      await rig.service.submit(body);
    }
    for (let round = 0; round < rounds; round++) {
      chain.resume();
      await sleep(warmupMs);
      await window(rig, slots, latencyMs, windowMs, () => chain.localWaiting(), acc.chain);
      await chain.pause();
      for (const w of workers) void w.resume();
      await sleep(warmupMs);
      await window(rig, slots, latencyMs, windowMs, () => rig.queues.local.getWaitingCount(), acc.pipeline);
      await Promise.all(workers.map((w) => w.pause()));
    }
  } finally {
    await chain.close();
    for (const w of workers) void w.resume();
    await rig.close();
  }
  return { latencyMs, slots, conversations, windowMs: windowMs * rounds, ...resultOf(acc.pipeline), chain: resultOf(acc.chain) };
}
