/**
 * `producer_ratio_vs_koa`: `POST /conversation` requests per second of the real producer app
 * (validation, conversation record, BullMQ add of turn 1 — see `http-target.ts`) ÷ a bare Koa
 * route answering the same request, each in its own Node process set up the same way, loaded by a
 * third process with many keep-alive connections (`load-client.ts`). Two more servers show the
 * floors: bare Koa plus the BullMQ job add (any queue-backed producer), and bare Koa plus the
 * conversation record and the job add (the producer's Redis work without its validation and
 * middleware). Runs rotate koa → koa+bullmq → koa+record+bullmq → producer (three times in the
 * full run) and each mode's median is taken. Server and Redis CPU per request are reported beside
 * the rates: load generator, server and Redis share the machine's cores.
 */
import { redisCpuMs } from './redis-cpu';
import type { BenchContext } from './bench-context';
import { forkBenchChild } from './child-process';
import type { HttpTargetMode, HttpTargetStart } from './http-target';
import type { LoadResult, LoadStart } from './load-client';
import { median } from './stats';

export interface ProducerRun {
  mode: HttpTargetMode;
  requestsPerSec: number;
  latencyMsP50: number;
  latencyMsP99: number;
  statuses: Record<string, number>;
  /** Server CPU per request (user+system), ms. */
  serverCpuMsPerRequest: number;
  /** redis-server CPU per request (user+system, INFO cpu), ms. */
  redisCpuMsPerRequest: number;
}

export interface ProducerResult {
  connections: number;
  durationMs: number;
  runs: ProducerRun[];
  koaRequestsPerSec: number;
  producerRequestsPerSec: number;
  /** Bare Koa plus the BullMQ job add: what any queue-backed producer must do. */
  bullmqFloorRequestsPerSec: number;
  /** Bare Koa plus the conversation record and the job add: the producer's Redis work alone. */
  recordFloorRequestsPerSec: number;
  ratio: number;
  /** The floor ÷ bare Koa: the best ratio a BullMQ producer can reach here. */
  floorRatio: number;
  /** The record floor ÷ bare Koa: the best ratio for a producer that records, then enqueues. */
  recordFloorRatio: number;
}

async function runOnce(
  ctx: BenchContext,
  mode: HttpTargetMode,
  connections: number,
  warmupMs: number,
  durationMs: number,
): Promise<ProducerRun> {
  const server = forkBenchChild('http-target.ts');
  const client = forkBenchChild('load-client.ts');
  try {
    const body = JSON.stringify({ initialQuery: 'What is the meaning of life?' });
    const start: HttpTargetStart = { type: 'start', mode, redisUrl: ctx.redisUrl, prefix: ctx.prefix('prod'), body };
    server.send(start);
    const { port } = await server.next<{ port: number }>('ready');
    server.send({ type: 'cpu' });
    const cpu0 = (await server.next<{ cpuMs: number }>('cpu')).cpuMs;
    const redis0 = await redisCpuMs(ctx.admin);
    const load: LoadStart = { type: 'start', port, path: '/conversation', body, connections, warmupMs, durationMs };
    client.send(load);
    const r = await client.next<LoadResult>('result', warmupMs + durationMs + 60_000);
    server.send({ type: 'cpu' });
    const cpu1 = (await server.next<{ cpuMs: number }>('cpu')).cpuMs;
    const redis1 = await redisCpuMs(ctx.admin);
    server.send({ type: 'stop' });
    await server.next('stopped', 20_000);
    const notOk = r.requests - r.ok;
    if (r.ok === 0 || notOk > r.requests * 0.01)
      throw new Error(`${mode}: ${notOk} of ${r.requests} requests failed: ${JSON.stringify(r.statuses)}`);
    // CPU over warm-up + window, per request in the window scaled to the whole load time.
    const requests = r.requestsPerSec * ((warmupMs + r.durationMs) / 1000);
    return {
      mode,
      requestsPerSec: r.requestsPerSec,
      latencyMsP50: r.latencyMsP50,
      latencyMsP99: r.latencyMsP99,
      statuses: r.statuses,
      serverCpuMsPerRequest: (cpu1 - cpu0) / requests,
      redisCpuMsPerRequest: (redis1 - redis0) / requests,
    };
  } finally {
    server.kill();
    client.kill();
  }
}

export async function measureProducerVsKoa(ctx: BenchContext): Promise<ProducerResult> {
  const connections = 32;
  const warmupMs = ctx.quick ? 1000 : 1500;
  const durationMs = ctx.quick ? 3000 : 4000;
  const rounds = ctx.quick ? 1 : 3;
  const runs: ProducerRun[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const mode of ['koa', 'koa+bullmq', 'koa+record+bullmq', 'producer'] as const) {
      const run = await runOnce(ctx, mode, connections, warmupMs, durationMs);
      ctx.progress(
        `producer: ${mode} ${run.requestsPerSec.toFixed(0)} req/s, CPU per request: server ${(run.serverCpuMsPerRequest * 1000).toFixed(0)} µs, Redis ${(run.redisCpuMsPerRequest * 1000).toFixed(0)} µs`,
      );
      runs.push(run);
    }
  }
  const rate = (mode: HttpTargetMode) => median(runs.filter((x) => x.mode === mode).map((x) => x.requestsPerSec));
  const koa = rate('koa');
  const producer = rate('producer');
  const floor = rate('koa+bullmq');
  const recordFloor = rate('koa+record+bullmq');
  return {
    connections,
    durationMs,
    runs,
    koaRequestsPerSec: koa,
    producerRequestsPerSec: producer,
    bullmqFloorRequestsPerSec: floor,
    recordFloorRequestsPerSec: recordFloor,
    ratio: producer / koa,
    floorRatio: floor / koa,
    recordFloorRatio: recordFloor / koa,
  };
}
