/**
 * `throughput_ratio_vs_direct`: turns per second of the pipeline ÷ the direct loop, with N
 * conversations in flight and instant emulators, in the same process with the same provider
 * objects. Both sides get the same concurrency: N direct loops, and the pipeline's cloud and local
 * worker concurrency set to N, so the ratio shows the pipeline's own cost, not a queueing limit.
 * The bare BullMQ chain (`bullmq-chain.ts`) runs the same way, as the floor of any BullMQ pipeline.
 *
 * This machine is shared, so its load drifts: the three systems take turns in short windows
 * (direct → chain → pipeline, several rounds), the two queue-backed ones paused while the others
 * run, and each system's turns and window times are summed over the rounds.
 */
import { randomUUID } from 'node:crypto';
import { parseConversationRequest } from '../conversation/conversation-request';
import { sleep, type BenchContext } from './bench-context';
import { startBullmqChain } from './bullmq-chain';
import { runDirectConversation } from './direct-loop';
import { redisCpuMs } from './redis-cpu';
import { startPipelineRig } from './pipeline-rig';

export interface ThroughputResult {
  conversations: number;
  rounds: number;
  windowMs: number;
  pipelineTurnsPerSec: number;
  directTurnsPerSec: number;
  chainTurnsPerSec: number;
  ratio: number;
  /** The bare BullMQ chain ÷ the direct loop: the best ratio a BullMQ pipeline reaches here. */
  chainRatio: number;
  /** CPU of the benchmark process per turn (user+system, all threads), ms. */
  pipelineCpuMsPerTurn: number;
  directCpuMsPerTurn: number;
  chainCpuMsPerTurn: number;
  /**
   * redis-server's CPU per turn (INFO cpu, user+system), µs: the pipeline's and the bare chain's.
   * One Redis core (one hash tag, one Cluster slot) then carries at most 1e6 / this many turns/s.
   * Net of the idle baseline (the direct loop's windows, when Redis serves only the paused
   * systems' polls and its own cron).
   */
  pipelineRedisCpuUsPerTurn: number;
  chainRedisCpuUsPerTurn: number;
  /** That baseline: redis-server's CPU per second with both queue-backed systems paused, µs. */
  redisIdleCpuUsPerSec: number;
}

type Mode = 'direct' | 'chain' | 'pipeline';

export async function measureThroughput(ctx: BenchContext): Promise<ThroughputResult> {
  const n = 8;
  const rounds = ctx.quick ? 3 : 4;
  const warmupMs = 600;
  const windowMs = ctx.quick ? 1200 : 2500;
  const rig = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('tput'),
    latencyMs: 0,
    env: { CLOUD_CONCURRENCY: String(n), LOCAL_CONCURRENCY: String(n) },
  });
  rig.local.recording = rig.cloud.recording = false;
  const chain = await startBullmqChain({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('tput-chain'),
    config: rig.config,
    cloud: rig.cloud,
    local: rig.local,
  });
  const body = { initialQuery: 'What is the meaning of life?', maxTurns: 1000 };
  const settings = () => {
    const id = randomUUID();
    return { id, s: parseConversationRequest(body, rig.config, id) };
  };
  const workers = rig.host!.workers;
  const totals: Record<Mode, { turns: number; ms: number; cpuMs: number; redisCpuMs: number }> = {
    direct: { turns: 0, ms: 0, cpuMs: 0, redisCpuMs: 0 },
    chain: { turns: 0, ms: 0, cpuMs: 0, redisCpuMs: 0 },
    pipeline: { turns: 0, ms: 0, cpuMs: 0, redisCpuMs: 0 },
  };
  try {
    // Both queue-backed systems get their N conversations up front, then wait paused.
    await chain.pause();
    await Promise.all(workers.map((w) => w.pause()));
    for (let i = 0; i < n; i++) {
      const { id, s } = settings();
      // Never awaited: these conversations are cut off when the chain closes.
      void chain.run(id, s);
      await rig.service.submit(body);
    }
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['direct', 'chain', 'pipeline'] as const) {
        let stop = false;
        let loops: Promise<void>[] = [];
        if (mode === 'direct') {
          const direct = {
            cloud: rig.cloud,
            local: rig.local,
            cloudTimeoutMs: rig.config.apiGatewayTimeoutMs,
            localTimeoutMs: rig.config.ollamaTimeoutMs,
            stop: () => stop,
          };
          loops = Array.from({ length: n }, async () => {
            while (!stop) {
              const { id, s } = settings();
              await runDirectConversation(id, s, direct);
            }
          });
        } else if (mode === 'chain') {
          chain.resume();
        } else {
          for (const w of workers) void w.resume();
        }
        await sleep(warmupMs);
        // A turn ends when its local call returns.
        const redis0 = await redisCpuMs(ctx.admin);
        const c0 = rig.local.completed;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await sleep(windowMs);
        totals[mode].turns += rig.local.completed - c0;
        totals[mode].ms += performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        totals[mode].cpuMs += (cpu.user + cpu.system) / 1000;
        // The bench's own redis-server serves only this phase; in the direct loop's window it serves
        // only the paused systems' idle polls, which is the baseline taken off the other two.
        totals[mode].redisCpuMs += (await redisCpuMs(ctx.admin)) - redis0;
        if (mode === 'direct') {
          stop = true;
          await Promise.all(loops);
        } else if (mode === 'chain') {
          await chain.pause();
        } else {
          await Promise.all(workers.map((w) => w.pause()));
        }
      }
    }
  } finally {
    await chain.close();
    for (const w of workers) void w.resume();
    await rig.close();
  }
  const rate = (m: Mode) => totals[m].turns / (totals[m].ms / 1000);
  const cpuPerTurn = (m: Mode) => totals[m].cpuMs / totals[m].turns;
  const idleRedisCpuPerMs = totals.direct.redisCpuMs / totals.direct.ms;
  const redisCpuPerTurn = (m: Mode) => ((totals[m].redisCpuMs - idleRedisCpuPerMs * totals[m].ms) * 1000) / totals[m].turns;
  return {
    conversations: n,
    rounds,
    windowMs,
    pipelineTurnsPerSec: rate('pipeline'),
    directTurnsPerSec: rate('direct'),
    chainTurnsPerSec: rate('chain'),
    ratio: rate('pipeline') / rate('direct'),
    chainRatio: rate('chain') / rate('direct'),
    pipelineCpuMsPerTurn: cpuPerTurn('pipeline'),
    directCpuMsPerTurn: cpuPerTurn('direct'),
    chainCpuMsPerTurn: cpuPerTurn('chain'),
    pipelineRedisCpuUsPerTurn: redisCpuPerTurn('pipeline'),
    chainRedisCpuUsPerTurn: redisCpuPerTurn('chain'),
    redisIdleCpuUsPerSec: idleRedisCpuPerMs * 1e6,
  };
}
