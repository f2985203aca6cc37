/**
 * `throughput_ratio_vs_direct`: turns per second of the pipeline ÷ the direct loop, with N
 * conversations in flight and instant emulators, in the same process with the same provider
 * objects. Both sides get the same concurrency: N direct loops, and the pipeline's cloud and local
 * worker concurrency set to N, so the ratio shows the pipeline's own cost, not a queueing limit.
 * Turns are counted in a steady-state window after a warm-up.
 */
import { randomUUID } from 'node:crypto';
import { parseConversationRequest } from '../producer/conversation-request';
import { sleep, type BenchContext } from './bench-context';
import { runDirectConversation } from './direct-loop';
import { startPipelineRig } from './pipeline-rig';

export interface ThroughputResult {
  conversations: number;
  windowMs: number;
  pipelineTurnsPerSec: number;
  directTurnsPerSec: number;
  ratio: number;
  /** CPU of the benchmark process per turn (user+system, all threads), ms. */
  pipelineCpuMsPerTurn: number;
  directCpuMsPerTurn: number;
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

export async function measureThroughput(ctx: BenchContext): Promise<ThroughputResult> {
  const n = 8;
  const warmupMs = ctx.quick ? 1500 : 3000;
  const windowMs = ctx.quick ? 4000 : 10_000;
  const rig = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('tput'),
    latencyMs: 0,
    env: { CLOUD_CONCURRENCY: String(n), LOCAL_CONCURRENCY: String(n) },
  });
  const body = { initialQuery: 'What is the meaning of life?', maxTurns: 1000 };
  try {
    // Direct loop: N conversations, each a loop of real calls, until the window ends.
    let stop = false;
    const direct = { cloud: rig.cloud, local: rig.local, cloudTimeoutMs: rig.config.apiGatewayTimeoutMs, localTimeoutMs: rig.config.ollamaTimeoutMs, stop: () => stop };
    rig.local.recording = rig.cloud.recording = false;
    const loops = Array.from({ length: n }, async () => {
      while (!stop) {
        const id = randomUUID();
        await runDirectConversation(id, parseConversationRequest(body, rig.config, id), direct);
      }
    });
    // A turn ends when its local call returns.
    await sleep(warmupMs);
    let c0 = rig.local.completed;
    let cpu = process.cpuUsage();
    let t0 = performance.now();
    await sleep(windowMs);
    const directTurns = rig.local.completed - c0;
    const directMs = performance.now() - t0;
    const directCpu = cpuMs(process.cpuUsage(cpu));
    stop = true;
    await Promise.all(loops);

    // Pipeline: N conversations through the producer core and the workers.
    for (let i = 0; i < n; i++) await rig.service.submit(body);
    await sleep(warmupMs);
    c0 = rig.events.turns;
    cpu = process.cpuUsage();
    t0 = performance.now();
    await sleep(windowMs);
    const pipelineTurns = rig.events.turns - c0;
    const pipelineMs = performance.now() - t0;
    const pipelineCpu = cpuMs(process.cpuUsage(cpu));

    const pipelineTurnsPerSec = pipelineTurns / (pipelineMs / 1000);
    const directTurnsPerSec = directTurns / (directMs / 1000);
    return {
      conversations: n,
      windowMs,
      pipelineTurnsPerSec,
      directTurnsPerSec,
      ratio: pipelineTurnsPerSec / directTurnsPerSec,
      pipelineCpuMsPerTurn: pipelineCpu / pipelineTurns,
      directCpuMsPerTurn: directCpu / directTurns,
    };
  } finally {
    await rig.close();
  }
}
