/**
 * `npm run bench [-- --quick] [-- --only=rtt,hop,turn,throughput,saturation,scaling,producer,memory,export,parquet,runs,pools,quota,cache,fork,dedup,archive,cluster]`:
 * measures the pipeline against its floors in one run on a private redis-server, prints a Markdown
 * table on stdout (progress goes to stderr) and writes `bench/results/latest.json`. Exits non-zero
 * when a measurement fails or a key is missing. See BENCHMARKS.md for the method and the figures.
 *
 * @example
 * npm run bench -- --quick   # CI: about a minute and a half
 * npm run bench              # the full run quoted in BENCHMARKS.md
 * npm run bench -- --only=cluster   # the pipeline on a real 3 masters + 3 replicas cluster alone
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../shared/embedded-redis';
import { createBenchContext, type BenchContext } from './bench-context';
import { measureBullmqHop } from './bullmq-hop';
import { measureCacheCost, REPLY_WORDS, SYSTEM_WORDS } from './cache-cost';
import { measureCluster } from './cluster';
import { measureExportSpeed } from './export-speed';
import { measureForkCopy } from './fork-copy';
import { measureDedup } from './dedup';
import { measureArchive } from './archive';
import { measureArchiveThroughput } from './archive-throughput';
import { measureParquetExport } from './export-parquet';
import { measureLocalSaturation } from './local-saturation';
import { measurePoolSaturation, measureThrottleRecovery } from './model-pools';
import { measureProducerVsKoa } from './producer-vs-koa';
import { measureRedisMemory } from './redis-memory';
import { measureRedisRtt } from './redis-rtt';
import { measureRuns } from './runs';
import { RESULT_KEYS, renderTable, roundResults, type BenchResults, type ResultKey } from './report';
import { measureScaling } from './scaling';
import { round } from './stats';
import { measureThroughput } from './throughput';
import { measureTurnOverhead } from './turn-overhead';

const PHASES = [
  'rtt',
  'hop',
  'turn',
  'throughput',
  'saturation',
  'scaling',
  'producer',
  'memory',
  'export',
  'parquet',
  'runs',
  'pools',
  'quota',
  'cache',
  'fork',
  'dedup',
  'archive',
  'cluster',
] as const;
type Phase = (typeof PHASES)[number];

function parseArgs(argv: string[]): { quick: boolean; only: Set<Phase> } {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = new Set<Phase>(onlyArg ? (onlyArg.slice('--only='.length).split(',') as Phase[]) : PHASES);
  for (const p of only) if (!PHASES.includes(p)) throw new Error(`unknown phase "${p}"; phases: ${PHASES.join(', ')}`);
  const unknown = argv.filter((a) => a !== '--quick' && !a.startsWith('--only='));
  if (unknown.length) throw new Error(`unknown argument(s): ${unknown.join(' ')}; use --quick and/or --only=${PHASES.join(',')}`);
  return { quick, only };
}

async function machine(admin: Redis) {
  const info = await admin.info('server');
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
  };
}

type Notes = Partial<Record<ResultKey, string>>;

async function runPhase(ctx: BenchContext, phase: Phase, results: BenchResults, notes: Notes): Promise<void> {
  const c = results.context;
  switch (phase) {
    case 'rtt': {
      const r = await measureRedisRtt(ctx);
      c.redisRtt = r;
      results.redis_rtt_ms_p50 = r.p50;
      notes.redis_rtt_ms_p50 = `${r.n} sequential PINGs, ioredis, loopback`;
      break;
    }
    case 'hop': {
      const r = await measureBullmqHop(ctx);
      c.bullmqHop = r;
      results.bullmq_hop_ms_p50 = r.p50;
      notes.bullmq_hop_ms_p50 = `${r.n} jobs one at a time, idle worker; p99 ${r.p99.toFixed(2)} ms`;
      break;
    }
    case 'turn': {
      const r = await measureTurnOverhead(ctx);
      c.turnOverhead = r;
      results.turn_overhead_ms_p50 = r.overheadP50Ms;
      results.turn_overhead_ms_p99 = r.overheadP99Ms;
      const hop = results.bullmq_hop_ms_p50;
      notes.turn_overhead_ms_p50 =
        `turn p50 ${r.pipelineTurnMs.p50.toFixed(2)} vs ${r.directTurnMs.p50.toFixed(2)} ms direct` +
        (hop ? ` (= ${(r.overheadP50Ms / hop).toFixed(1)} hops)` : '') +
        `; bare BullMQ chain ${r.chainOverheadP50Ms.toFixed(2)} ms over direct${hop ? ` (${(r.chainOverheadP50Ms / hop).toFixed(1)} hops)` : ''}; ${r.pipelineTurnMs.n} turns`;
      notes.turn_overhead_ms_p99 = `turn p99 ${r.pipelineTurnMs.p99.toFixed(2)} vs ${r.directTurnMs.p99.toFixed(2)} ms direct; chain ${r.chainOverheadP99Ms.toFixed(2)} ms over direct`;
      break;
    }
    case 'throughput': {
      const r = await measureThroughput(ctx);
      c.throughput = r;
      results.throughput_ratio_vs_direct = r.ratio;
      notes.throughput_ratio_vs_direct =
        `${r.pipelineTurnsPerSec.toFixed(0)} vs ${r.directTurnsPerSec.toFixed(0)} turns/s, ${r.conversations} conversations; ` +
        `bare BullMQ chain ${r.chainRatio.toFixed(2)} of direct; CPU ${r.pipelineCpuMsPerTurn.toFixed(2)} / ${r.chainCpuMsPerTurn.toFixed(2)} / ${r.directCpuMsPerTurn.toFixed(2)} ms per turn (pipeline / chain / direct)`;
      results.redis_cpu_us_per_turn = r.pipelineRedisCpuUsPerTurn;
      results.redis_cpu_ratio_vs_chain = r.pipelineRedisCpuUsPerTurn / r.chainRedisCpuUsPerTurn;
      notes.redis_cpu_us_per_turn =
        `pipeline ${r.pipelineRedisCpuUsPerTurn.toFixed(0)} µs, bare BullMQ chain ${r.chainRedisCpuUsPerTurn.toFixed(0)} µs of Redis CPU per turn: ` +
        `one Redis core carries at most ${(1e6 / r.pipelineRedisCpuUsPerTurn).toFixed(0)} pipeline turns/s (chain ${(1e6 / r.chainRedisCpuUsPerTurn).toFixed(0)}); ` +
        `net of an idle ${(r.redisIdleCpuUsPerSec / 1000).toFixed(1)} ms/s`;
      break;
    }
    case 'saturation': {
      const r = await measureLocalSaturation(ctx);
      c.localSaturation = r;
      results.local_saturation = r.saturation;
      notes.local_saturation =
        `P=${r.slots} slots, ${r.latencyMs} ms emulators; idle gap ${r.meanGapMs.toFixed(2)} ms per call; ` +
        `bare BullMQ chain ${r.chain.saturation.toFixed(3)} (gap ${r.chain.meanGapMs.toFixed(2)} ms); work queued ${(r.queuedShare * 100).toFixed(0)}% of the window`;
      if (!ctx.quick) {
        // Context: the same at a latency nearer a real local model's (shorter windows).
        const slow = await measureLocalSaturation({ ...ctx, quick: true }, 250);
        c.localSaturationAt250ms = slow;
        notes.local_saturation += `; at 250 ms: ${slow.saturation.toFixed(3)} (chain ${slow.chain.saturation.toFixed(3)})`;
      }
      break;
    }
    case 'scaling': {
      const r = await measureScaling(ctx);
      c.scaling = r;
      results.scaling_2x = r.scaling2x;
      results.scaling_4x = r.scaling4x;
      const tps = r.points.map((p) => p.turnsPerSec.toFixed(1)).join(' / ');
      notes.scaling_2x = `${tps} turns/s at 1 / 2 / 4 processes`;
      notes.scaling_4x = `CPU ${r.points.map((p) => p.workerCpuMsPerTurn.toFixed(1)).join(' / ')} ms/turn (all workers)`;
      break;
    }
    case 'producer': {
      const r = await measureProducerVsKoa(ctx);
      c.producer = r;
      results.producer_ratio_vs_koa = r.ratio;
      notes.producer_ratio_vs_koa =
        `${r.producerRequestsPerSec.toFixed(0)} vs ${r.koaRequestsPerSec.toFixed(0)} req/s, ${r.connections} keep-alive connections; ` +
        `bare Koa + BullMQ add ${r.bullmqFloorRequestsPerSec.toFixed(0)} req/s (${r.floorRatio.toFixed(2)} of bare Koa); ` +
        `+ the conversation record ${r.recordFloorRequestsPerSec.toFixed(0)} req/s (${r.recordFloorRatio.toFixed(2)})`;
      break;
    }
    case 'pools': {
      const r = await measurePoolSaturation(ctx);
      c.poolSaturation = r;
      results.pool_saturation = r.saturation;
      results.pool_slots_exceeded = Math.max(0, r.maxInFlight[0] - r.slots[0]) + Math.max(0, r.maxInFlight[1] - r.slots[1]);
      notes.pool_saturation = `${r.latencyMs} ms emulated Ollama hosts, ${r.calls} calls in ${r.windowMs / 1000} s, 12 calls wanted at once`;
      notes.pool_slots_exceeded = `most at once: ${r.maxInFlight[0]} / ${r.slots[0]} and ${r.maxInFlight[1]} / ${r.slots[1]} slots`;
      break;
    }
    case 'cache': {
      const r = await measureCacheCost({ quick: ctx.quick });
      c.cacheCost = r;
      const sonnet = (turns: number) => r.rows.find((x) => /claude-sonnet-4-5/.test(x.model) && x.turns === turns)!;
      results.cost_per_1k_conversations_usd = sonnet(10).cachedUsdPer1k;
      results.cost_per_1k_conversations_usd_uncached = sonnet(10).uncachedUsdPer1k;
      results.cache_cost_ratio_10_turns = sonnet(10).ratio;
      results.cache_cost_ratio_20_turns = sonnet(20).ratio;
      results.cache_cost_floor_10_turns = sonnet(10).floorRatio;
      results.local_prompt_eval_ratio = r.localEvaluatedPerSent;
      const table = r.rows.map((x) => `${x.model} ${x.turns}t: ${x.cachedUsdPer1k.toFixed(2)} vs ${x.uncachedUsdPer1k.toFixed(2)}`);
      notes.cost_per_1k_conversations_usd = `${r.conversations} seeds per cell, ${REPLY_WORDS}-word answers, ${SYSTEM_WORDS}-word system prompt; ${table.join('; ')}`;
      notes.cost_per_1k_conversations_usd_uncached = `vs the sliding window of 3 turns (caching off's default): ${sonnet(10).slidingUsdPer1k.toFixed(2)} USD`;
      notes.cache_cost_floor_10_turns = r.rows
        .filter((x) => x.turns === 10)
        .map(
          (x) =>
            `${x.model}: output ${x.outputOnlyUsdPer1k.toFixed(2)} USD of ${x.uncachedUsdPer1k.toFixed(2)} (${x.floorRatio.toFixed(3)})`,
        )
        .join('; ');
      break;
    }
    case 'archive': {
      const r = await measureArchive(ctx);
      c.archive = r;
      results.archive_redis_memory_ratio_10k_1k = r.memory.ratio;
      results.archive_write_ms_cpu = r.write.cpuMsPerConversation;
      results.archive_export_ratio = r.export.ratio;
      notes.archive_redis_memory_ratio_10k_1k =
        `${r.memory.usedAfter1k} B after 1,000, ${r.memory.usedAfter10k} B after ${r.memory.n.toLocaleString('en')} (used_memory less the capped latest list: ${r.memory.latestListBytes} B); ` +
        `${r.memory.bytesPerFinishedInRedis.toFixed(0)} B per finished conversation before its grace is over, ${r.memory.bytesPerLive.toFixed(0)} B per live one; ` +
        `a finished, archived run keeps ${r.memory.runKeyBytesPerConversation.toFixed(0)} B per conversation in Redis`;
      notes.archive_write_ms_cpu = `${r.write.conversations} writes, ${r.write.wallMsPerConversation.toFixed(3)} ms wall each; ${r.write.redisRoundTrips} Redis round trips and ${r.write.sqlStatements} SQL statement per write`;
      notes.archive_export_ratio =
        `${r.export.conversations} conversations (${(r.export.bytes / 1e6).toFixed(1)} MB): Redis ${r.export.redisPerSec.toFixed(0)} conv/s, peak RSS ${r.export.redisPeakRssMb.toFixed(0)} MB; ` +
        `archive ${r.export.archivePerSec.toFixed(0)} conv/s, peak RSS ${r.export.archivePeakRssMb.toFixed(0)} MB`;
      const t = await measureArchiveThroughput(ctx);
      c.archiveThroughput = t;
      results.archive_pipeline_throughput_ratio = t.ratio;
      notes.archive_pipeline_throughput_ratio = `${t.conversations} two-turn conversations in ${t.rounds} rounds each: archive on ${t.onPerSec.toFixed(0)} conv/s, off ${t.offPerSec.toFixed(0)} conv/s`;
      break;
    }
    case 'dedup': {
      const r = measureDedup(ctx);
      c.dedup = r;
      results.dedup_conversations_per_sec = r.conversationsPerSec;
      results.dedup_recall = r.recall;
      notes.dedup_conversations_per_sec = `${r.conversations} conversations of ${r.wordsPerConversation} words in ${r.seconds.toFixed(2)} s, in process (the seed intake's index; a run's finished conversation adds one MULTI and one HMGET)`;
      notes.dedup_recall = `${r.found} of ${r.planted} planted; ${r.falsePositives} others flagged`;
      break;
    }
    case 'quota': {
      const r = await measureThrottleRecovery(ctx);
      c.throttleRecovery = r;
      results.quota_achieved_share = r.achievedShareOfQuota;
      results.quota_throttled_share = r.throttledShare;
      notes.quota_achieved_share = `quota ${r.quotaTokens} tokens per ${r.windowMs / 1000} s window (shortened from 60 s), ${r.runMs / 1000} s run`;
      notes.quota_throttled_share = `${r.throttled} of ${r.calls} calls`;
      break;
    }
    case 'memory': {
      const r = await measureRedisMemory(ctx, ctx.quick ? [1000] : [1000, 10_000]);
      c.redisMemory = r;
      const first = r.points[0]!;
      results.redis_bytes_per_conversation = first.bytesPerConversation;
      const last = r.points[r.points.length - 1]!;
      notes.redis_bytes_per_conversation =
        `${first.conversations} conversations` +
        (r.points.length > 1
          ? `; ${last.bytesPerConversation.toFixed(0)} B at ${last.conversations}, marginal ${r.marginalBytesPerConversation!.toFixed(0)} B`
          : '') +
        `; ${first.bytesPerConversationWithText.toFixed(0)} B with the text`;
      break;
    }
    case 'export': {
      const r = await measureExportSpeed(ctx);
      c.exportSpeed = r;
      results.export_conversations_per_sec = r.conversationsPerSec;
      results.export_peak_rss_mb = r.peakRssMb;
      notes.export_conversations_per_sec =
        `${r.conversations} conversations, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(2)} s ` +
        `(${r.megabytesPerSec.toFixed(1)} MB/s); server CPU ${r.serverCpuMsPerConversation.toFixed(3)} ms per conversation`;
      notes.export_peak_rss_mb = `idle ${r.idleRssMb.toFixed(0)} MB before the export (Node + tsx); ${r.conversations} conversations`;
      break;
    }
    case 'fork': {
      const r = await measureForkCopy(ctx);
      c.forkCopy = r;
      results.fork_round_trips_per_shared_turn = r.roundTripsPerSharedTurn;
      notes.fork_round_trips_per_shared_turn =
        `${r.roundTrips.toFixed(1)} round trips per fork of a ${r.turns}-turn conversation at turn ${r.atTurn} (${r.sharedTurns} shared turns copied, none asked); ` +
        `${r.forks} forks, p50 ${r.forkMs.p50.toFixed(2)} ms, p99 ${r.forkMs.p99.toFixed(2)} ms`;
      break;
    }
    case 'parquet': {
      const r = await measureParquetExport(ctx);
      c.parquetExport = r;
      results.export_parquet_ratio_vs_jsonl = r.ratio;
      results.export_parquet_peak_rss_mb = r.parquetPeakRssLargeMb;
      results.export_parquet_rss_ratio = r.rssRatio;
      const large = r.runs.find((x) => x.format === 'parquet' && x.conversations === r.large)!;
      const jsonl = r.runs.find((x) => x.format === 'openai')!;
      notes.export_parquet_ratio_vs_jsonl =
        `${r.parquetPerSec.toFixed(0)} vs ${r.jsonlPerSec.toFixed(0)} conv/s, best of 2 rounds each, a fresh child per export; ` +
        `${(large.bytes / 1e6).toFixed(1)} MB Parquet vs ${(jsonl.bytes / 1e6).toFixed(1)} MB JSONL`;
      notes.export_parquet_peak_rss_mb = `idle ${large.idleRssMb.toFixed(0)} MB before the export; JSONL on the same run ${r.jsonlPeakRssLargeMb.toFixed(0)} MB`;
      notes.export_parquet_rss_ratio = `${r.parquetPeakRssLargeMb.toFixed(0)} MB at ${r.large} vs ${r.parquetPeakRssSmallMb.toFixed(0)} MB at ${r.small} (lowest of 2 each); JSONL ${r.jsonlPeakRssLargeMb.toFixed(0)} vs ${r.jsonlPeakRssSmallMb.toFixed(0)} MB`;
      break;
    }
    case 'cluster': {
      const r = await measureCluster(ctx);
      c.cluster = r;
      const { pipeline, chain, single, pipelineOneShard, chainSingle } = r.systems;
      results.cluster_master_share_min = r.shareMin;
      results.cluster_master_share_max = r.shareMax;
      results.cluster_redis_cpu_us_per_turn = pipeline.cpuUsPerTurn;
      results.cluster_cpu_ratio_vs_single = r.ratioVsSingle;
      results.cluster_cpu_ratio_vs_chain = r.ratioVsChain;
      const us = (f: typeof pipeline) =>
        `${f.cpuUsPerTurn.toFixed(0)} µs (sys ${f.sysUsPerTurn.toFixed(0)}, in commands ${f.inCommandsUsPerTurn.toFixed(0)}; EVALSHA ${f.evalshaUsPerCall.toFixed(1)} µs a call${f.publishesPerTurn > 0 ? `, ${f.publishesPerTurn.toFixed(1)} PUBLISH a turn at ${f.publishUsPerCall.toFixed(1)} µs` : ''})`;
      const load = `${r.conversations} conversations × ${r.turnsPerConversation} turns, REDIS_SHARDS=${r.shards}`;
      notes.cluster_master_share_min =
        `${load}; shares ${pipeline.shares!.map((x) => x.toFixed(3)).join(' / ')} (masters ${r.masters.join(', ')}); ` +
        `conversations per shard ${r.conversationsPerShard.join(' / ')} on masters ${r.shardMasters.join(', ')}, the global tag on ${r.globalMaster}; ` +
        `bare chain ${chain.shares!.map((x) => x.toFixed(3)).join(' / ')}`;
      notes.cluster_master_share_max = r.lastPipelineRun;
      notes.cluster_redis_cpu_us_per_turn =
        `${us(pipeline)}, ${pipeline.commandsPerTurn.toFixed(1)} commands per turn; one core at 100 % carries ${(1e6 / pipeline.cpuUsPerTurn).toFixed(0)} turns/s; ` +
        (pipelineOneShard ? `REDIS_SHARDS=1 on the same cluster ${us(pipelineOneShard)}; ` : '') +
        `net of an idle ${(r.idleUsPerSec.cluster / 1000).toFixed(1)} ms/s over the masters; cluster up in ${r.startSeconds.toFixed(1)} s`;
      notes.cluster_cpu_ratio_vs_single =
        `one node ${us(single)}, ${single.commandsPerTurn.toFixed(1)} commands per turn (net of ${(r.idleUsPerSec.single / 1000).toFixed(1)} ms/s idle)` +
        (pipelineOneShard
          ? `; REDIS_SHARDS=1 on the cluster ÷ one node ${(pipelineOneShard.cpuUsPerTurn / single.cpuUsPerTurn).toFixed(2)}`
          : '') +
        (chainSingle
          ? `; bare chain, 3 tags on the cluster ÷ one node ${(chain.cpuUsPerTurn / chainSingle.cpuUsPerTurn).toFixed(2)}`
          : '') +
        (results.redis_cpu_us_per_turn !== null
          ? `; the throughput phase's steady state on one node: ${results.redis_cpu_us_per_turn.toFixed(0)} µs`
          : '');
      notes.cluster_cpu_ratio_vs_chain =
        `bare chain on the cluster ${us(chain)}, ${chain.commandsPerTurn.toFixed(1)} commands per turn` +
        (chainSingle
          ? `; on one node ${us(chainSingle)} (pipeline ÷ chain there ${(single.cpuUsPerTurn / chainSingle.cpuUsPerTurn).toFixed(2)})`
          : '');
      break;
    }
    case 'runs': {
      const r = await measureRuns(ctx);
      c.runs = r;
      results.runs_ingest_seeds_per_sec = r.ingestSeedsPerSec;
      results.runs_ingest_ratio_vs_addbulk = r.ingestSeedsPerSec / r.addBulkSeedsPerSec;
      results.runs_ingest_ratio_vs_posts = r.ingestSeedsPerSec / r.postsSeedsPerSec;
      results.runs_bytes_per_waiting_seed = r.bytesPerWaitingSeed;
      results.runs_generator_ingest_ratio = r.generatorSeedsPerSec / r.ingestSeedsPerSec;
      notes.runs_generator_ingest_ratio = `${r.seeds} seeds: generator ${r.generatorSeedsPerSec.toFixed(0)}/s, NDJSON ${r.ingestSeedsPerSec.toFixed(0)}/s`;
      results.runs_admission_ratio = r.runConversationsPerSec / r.singleConversationsPerSec;
      notes.runs_ingest_seeds_per_sec = `${r.seeds} NDJSON seeds in one upload, all to the backlog`;
      notes.runs_ingest_ratio_vs_addbulk = `BullMQ addBulk ${r.addBulkSeedsPerSec.toFixed(0)} jobs/s (chunks of 1000)`;
      notes.runs_ingest_ratio_vs_posts = `${r.postsCount} POST /conversation, 16 connections: ${r.postsSeedsPerSec.toFixed(0)}/s`;
      notes.runs_bytes_per_waiting_seed = 'backlog list + seeds hash, MEMORY USAGE, seed text left out';
      notes.runs_admission_ratio = `${r.conversations} conversations × 3 turns: ${r.runConversationsPerSec.toFixed(1)}/s as a run (maxActive ${r.maxActive}) vs ${r.singleConversationsPerSec.toFixed(1)}/s one by one`;
      break;
    }
  }
}

async function main() {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const redis = await startEmbeddedRedis();
  const admin = new Redis(redis.url);
  const results = Object.fromEntries(RESULT_KEYS.map((k) => [k, null])) as unknown as BenchResults;
  results.context = {};
  const notes: Notes = {};
  const failures: string[] = [];
  try {
    await admin.config('SET', 'slowlog-log-slower-than', '1000');
    const ctx = createBenchContext(redis.url, admin, quick);
    results.context.mode = quick ? 'quick' : 'full';
    results.context.command = `npm run bench${quick ? ' -- --quick' : ''}`;
    results.context.machine = await machine(admin);
    ctx.progress(`machine: ${JSON.stringify(results.context.machine)}`);
    for (const phase of PHASES) {
      if (!only.has(phase)) continue;
      const t = Date.now();
      ctx.progress(`${phase}: start`);
      try {
        await runPhase(ctx, phase, results, notes);
      } catch (err) {
        failures.push(`${phase}: ${(err as Error).stack ?? String(err)}`);
        ctx.progress(`${phase}: FAILED: ${(err as Error).message}`);
      }
      ctx.progress(`${phase}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const slow = (await admin.call('SLOWLOG', 'GET', '10')) as [number, number, number, string[]][];
    results.context.redisSlowlogOver1ms = slow.map(([, , us, args]) => ({ us, command: args.slice(0, 3).join(' ').slice(0, 120) }));
  } finally {
    admin.disconnect();
    await redis.stop();
  }
  results.context.seconds = round((Date.now() - started) / 1000, 1);
  results.context.notes = notes;
  if (failures.length) results.context.failures = failures;
  const rounded = roundResults(results);
  const file = path.join(__dirname, 'results', 'latest.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(rounded, null, 2)}\n`);

  const m = results.context.machine as Awaited<ReturnType<typeof machine>>;
  process.stdout.write(
    `\n## Benchmark (${quick ? 'quick' : 'full'}): ${m.nproc} × ${m.cpuModel}, Node ${m.node}, Redis ${m.redis}, ${results.context.seconds} s\n\n`,
  );
  process.stdout.write(`${renderTable(results, notes)}\n\nwritten: ${path.relative(process.cwd(), file)}\n`);
  const missing = RESULT_KEYS.filter((k) => only.size === PHASES.length && rounded[k] === null);
  if (failures.length || missing.length) {
    process.stderr.write(`\nbench failed:\n${[...failures, ...missing.map((k) => `missing key ${k}`)].join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
