/**
 * Runs (`--only=runs`):
 *  - `runs_ingest_seeds_per_sec`: seeds accepted per second through one `POST /runs` NDJSON
 *    upload to the real producer app (no workers, so every seed lands in the backlog);
 *  - `runs_ingest_ratio_vs_addbulk`: that ÷ BullMQ `addBulk` of the same count (the floor of any
 *    queue-backed intake), `runs_ingest_ratio_vs_posts`: ÷ one `POST /conversation` per seed
 *    (16 keep-alive connections);
 *  - `runs_generator_ingest_ratio`: the same seeds from a generator (`{"generator": {...}}`, its
 *    topics the seed texts) ÷ the NDJSON upload;
 *  - `runs_bytes_per_waiting_seed`: Redis bytes per waiting seed (backlog list + seeds hash),
 *    its text left out;
 *  - `runs_admission_ratio`: conversations × 3 turns per second through a run (admission control)
 *    ÷ the same conversations submitted one by one, instant emulators, workers in process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { createApp } from '../producer/app';
import { RunService } from '../runs/run-service';
import type { BenchContext } from './bench-context';
import { startPipelineRig } from './pipeline-rig';

export interface RunsBenchResult {
  seeds: number;
  ingestSeedsPerSec: number;
  /** The same count through `POST /runs` with a generator (no seed file). */
  generatorSeedsPerSec: number;
  addBulkSeedsPerSec: number;
  postsSeedsPerSec: number;
  postsCount: number;
  bytesPerWaitingSeed: number;
  conversations: number;
  runConversationsPerSec: number;
  singleConversationsPerSec: number;
  maxActive: number;
}

const seedText = (i: number) => `What would change if question number ${i} were answered?`;

function request(
  url: string,
  path: string,
  body: Buffer | string,
  type: string,
  agent?: http.Agent,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'POST', agent, headers: { 'content-type': type } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function measureRuns(ctx: BenchContext): Promise<RunsBenchResult> {
  const seeds = ctx.quick ? 5_000 : 50_000;
  const postsCount = ctx.quick ? 1_000 : 5_000;
  const conversations = ctx.quick ? 300 : 10_000;
  const maxActive = 200;

  // Ingest: the real producer app, no workers.
  const intake = await startPipelineRig({ redisUrl: ctx.redisUrl, prefix: ctx.prefix('runs-in'), roles: [], emulators: false });
  let ingestSeedsPerSec: number;
  let generatorSeedsPerSec: number;
  let postsSeedsPerSec: number;
  let bytesPerWaitingSeed: number;
  try {
    const redis = intake.store.redis;
    const app = createApp({
      config: intake.config,
      redis,
      store: intake.store,
      queues: intake.queues,
      cloud: intake.cloud,
      logger: intake.logger,
    });
    const server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const body = Buffer.from(Array.from({ length: seeds }, (_, i) => `${JSON.stringify({ initialQuery: seedText(i) })}\n`).join(''));
      // Warm-up (JIT, scripts loaded): a tenth of the seeds into another run.
      await request(
        url,
        '/runs?maxActive=1&maxTurns=3&run=bench-warmup',
        body.subarray(0, body.indexOf(10, Math.floor(body.length / 10)) + 1),
        'application/x-ndjson',
      );
      ctx.progress(`runs: one POST /runs of ${seeds} seeds`);
      const t0 = performance.now();
      const res = await request(url, '/runs?maxActive=1&maxTurns=3&run=bench-ingest', body, 'application/x-ndjson');
      const ms = performance.now() - t0;
      const r = JSON.parse(res.body) as { accepted: number };
      if (res.status !== 202 || r.accepted !== seeds) throw new Error(`POST /runs answered ${res.status}: ${res.body.slice(0, 300)}`);
      ingestSeedsPerSec = seeds / (ms / 1000);

      // The same seeds from a generator (runs/seed-generator.ts): its topics are the seed texts.
      ctx.progress(`runs: one POST /runs with a generator of ${seeds} seeds`);
      const generator = JSON.stringify({
        generator: { topics: Array.from({ length: seeds }, (_, i) => seedText(i)), count: seeds, seed: 1 },
      });
      const tg = performance.now();
      const gen = await request(url, '/runs?maxActive=1&maxTurns=3&run=bench-generator', generator, 'application/json');
      const genMs = performance.now() - tg;
      const g = JSON.parse(gen.body) as { accepted: number };
      if (gen.status !== 202 || g.accepted !== seeds)
        throw new Error(`POST /runs (generator) answered ${gen.status}: ${gen.body.slice(0, 300)}`);
      generatorSeedsPerSec = seeds / (genMs / 1000);

      const k = new RunService(intake).admission.runs.keys('bench-ingest');
      let bytes = 0;
      for (const key of [k.backlog, k.seeds]) bytes += Number((await ctx.admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      const waiting = await redis.llen(k.backlog);
      let textBytes = 0;
      for (let i = 0; i < seeds; i++) textBytes += Buffer.byteLength(seedText(i));
      bytesPerWaitingSeed = (bytes - (textBytes * waiting) / seeds) / waiting;

      ctx.progress(`runs: ${postsCount} POST /conversation, 16 connections`);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      let next = 0;
      const t1 = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < postsCount) {
            const i = next++;
            const p = await request(
              url,
              '/conversation',
              JSON.stringify({ initialQuery: seedText(i), maxTurns: 3 }),
              'application/json',
              agent,
            );
            if (p.status !== 202) throw new Error(`POST /conversation answered ${p.status}: ${p.body.slice(0, 200)}`);
          }
        }),
      );
      postsSeedsPerSec = postsCount / ((performance.now() - t1) / 1000);
      agent.destroy();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  } finally {
    await intake.close();
  }

  ctx.progress(`runs: BullMQ addBulk of ${seeds}`);
  const q = new Queue('cloud', { connection: { url: ctx.redisUrl }, prefix: ctx.prefix('runs-bulk') });
  const t2 = performance.now();
  for (let i = 0; i < seeds; i += 1000) {
    await q.addBulk(
      Array.from({ length: Math.min(1000, seeds - i) }, (_, j) => ({
        name: 'cloud',
        data: { conversationId: `c-${i + j}`, turn: 1 },
        opts: { jobId: `c-${i + j}-cloud-1` },
      })),
    );
  }
  const addBulkSeedsPerSec = seeds / ((performance.now() - t2) / 1000);
  await q.close();

  // Admission overhead: the same conversations through a run and one by one.
  const rig = await startPipelineRig({
    redisUrl: ctx.redisUrl,
    prefix: ctx.prefix('runs-adm'),
    env: { CLOUD_CONCURRENCY: '32', LOCAL_CONCURRENCY: '32', TRANSCRIPT_CONCURRENCY: '32' },
  });
  let runConversationsPerSec: number;
  let singleConversationsPerSec: number;
  try {
    const timeout = ctx.quick ? 120_000 : 1_800_000;
    ctx.progress(`runs: ${conversations} conversations × 3 turns one by one`);
    let base = rig.events.finishedCount;
    const t3 = performance.now();
    for (let i = 0; i < conversations; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, conversations - i) }, (_, j) =>
          rig.service.submit({ initialQuery: `single ${seedText(i + j)}`, maxTurns: 3 }),
        ),
      );
    }
    await rig.events.until(() => rig.events.finishedCount >= base + conversations, timeout, 'one-by-one conversations');
    singleConversationsPerSec = conversations / ((performance.now() - t3) / 1000);

    ctx.progress(`runs: the same as one run, maxActive ${maxActive}`);
    base = rig.events.finishedCount;
    const service = new RunService(rig);
    const body = Array.from({ length: conversations }, (_, i) => `${JSON.stringify({ initialQuery: `run ${seedText(i)}` })}\n`).join('');
    const t4 = performance.now();
    const r = await service.submit(Readable.from([Buffer.from(body)]), 'ndjson', { defaults: { maxTurns: 3 }, maxActive });
    if (r.accepted !== conversations) throw new Error(`run accepted ${r.accepted} of ${conversations}`);
    await rig.events.until(() => rig.events.finishedCount >= base + conversations, timeout, 'run conversations');
    runConversationsPerSec = conversations / ((performance.now() - t4) / 1000);
  } finally {
    await rig.close();
  }
  return {
    seeds,
    ingestSeedsPerSec,
    generatorSeedsPerSec,
    addBulkSeedsPerSec,
    postsSeedsPerSec,
    postsCount,
    bytesPerWaitingSeed,
    conversations,
    runConversationsPerSec,
    singleConversationsPerSec,
    maxActive,
  };
}
