/**
 * `scaling_2x`, `scaling_4x`: turns per second with 2 and 4 worker processes ÷ 1, with both
 * emulators at 50 ms, so the work is latency-bound (model time), as it is in production, and not
 * bound by this machine's 2 cores. Each worker process (`bench/bench-worker.ts`) runs all roles with
 * the default concurrency (cloud 8, local 1 — one Ollama slot per host, like OLLAMA_NUM_PARALLEL=1)
 * and its own local gateway + Lambda handler; the emulators, the producer core and the turn
 * counter (the store's event channel) live in the benchmark process. The full run repeats the
 * 1 → 2 → 4 sequence twice and averages each point, as the machine's load drifts.
 */
import { sleep, type BenchContext } from './bench-context';
import { forkBenchChild, type BenchChild } from './child-process';
import { startPipelineRig } from './pipeline-rig';
import type { BenchWorkerStart } from './bench-worker';

export interface ScalingPoint {
  processes: number;
  turnsPerSec: number;
  /** CPU used by all worker processes in the window, ms per turn. */
  workerCpuMsPerTurn: number;
}

export interface ScalingResult {
  latencyMs: number;
  rounds: number;
  conversations: number;
  windowMs: number;
  points: ScalingPoint[];
  scaling2x: number;
  scaling4x: number;
}

async function runPoint(
  ctx: BenchContext,
  processes: number,
  latencyMs: number,
  conversations: number,
  warmupMs: number,
  windowMs: number,
): Promise<ScalingPoint> {
  const prefix = ctx.prefix(`scale${processes}`);
  const rig = await startPipelineRig({ redisUrl: ctx.redisUrl, prefix, latencyMs, roles: [] });
  const children: BenchChild[] = [];
  try {
    for (let i = 0; i < processes; i++) children.push(forkBenchChild('bench-worker.ts'));
    const start: BenchWorkerStart = {
      type: 'start',
      redisUrl: ctx.redisUrl,
      prefix,
      bedrockUrl: rig.bedrock!.url,
      ollamaUrl: rig.ollama!.url,
    };
    for (const c of children) c.send(start);
    await Promise.all(children.map((c) => c.next('ready', 60_000)));
    const body = { initialQuery: 'What is the meaning of life?', maxTurns: 1000 };
    for (let i = 0; i < conversations; i++) await rig.service.submit(body);
    await sleep(warmupMs);
    const cpu = async () => {
      for (const c of children) c.send({ type: 'cpu' });
      const all = await Promise.all(children.map((c) => c.next<{ cpuMs: number }>('cpu', 10_000)));
      return all.reduce((s, m) => s + m.cpuMs, 0);
    };
    const cpu0 = await cpu();
    const c0 = rig.events.turns;
    const t0 = performance.now();
    await sleep(windowMs);
    const turns = rig.events.turns - c0;
    const turnsPerSec = turns / ((performance.now() - t0) / 1000);
    const cpuMs = (await cpu()) - cpu0;
    for (const c of children) c.send({ type: 'stop' });
    await Promise.all(children.map((c) => c.next('stopped', 20_000)));
    return { processes, turnsPerSec, workerCpuMsPerTurn: cpuMs / Math.max(1, turns) };
  } finally {
    for (const c of children) c.kill();
    await rig.close();
  }
}

export async function measureScaling(ctx: BenchContext, latencyMs = 50): Promise<ScalingResult> {
  const conversations = 16;
  const warmupMs = ctx.quick ? 1500 : 2500;
  const windowMs = ctx.quick ? 4000 : 8000;
  const rounds = ctx.quick ? 1 : 2;
  const runs: ScalingPoint[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const processes of [1, 2, 4]) {
      runs.push(await runPoint(ctx, processes, latencyMs, conversations, warmupMs, windowMs));
      ctx.progress(`scaling: ${processes} process(es): ${runs[runs.length - 1]!.turnsPerSec.toFixed(1)} turns/s`);
    }
  }
  const points = [1, 2, 4].map((processes) => {
    const r = runs.filter((p) => p.processes === processes);
    const mean = (f: (p: ScalingPoint) => number) => r.reduce((a, p) => a + f(p), 0) / r.length;
    return { processes, turnsPerSec: mean((p) => p.turnsPerSec), workerCpuMsPerTurn: mean((p) => p.workerCpuMsPerTurn) };
  });
  const one = points[0]!.turnsPerSec;
  return {
    latencyMs,
    rounds,
    conversations,
    windowMs,
    points,
    scaling2x: points[1]!.turnsPerSec / one,
    scaling4x: points[2]!.turnsPerSec / one,
  };
}
