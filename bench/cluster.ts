/**
 * `npm run bench -- --only=cluster`: the pipeline on a real Redis Cluster (3 masters + 3 replicas on
 * loopback, `cluster-rig.ts`) with REDIS_CLUSTER_NODES and REDIS_SHARDS=3, against the same pipeline
 * on the bench's one redis-server and the bare BullMQ chain on the same cluster, in one run:
 *
 * - `cluster_master_share_min` / `_max`: each master's share of the Redis commands the cluster's
 *   masters served during the pipeline's runs (INFO commandstats, before and after; replicas out);
 * - `cluster_redis_cpu_us_per_turn`: the masters' CPU (INFO cpu, user + system) per turn, summed
 *   over masters, net of their idle baseline;
 * - `cluster_cpu_ratio_vs_single`: that ÷ the same load's Redis CPU per turn on the one node;
 * - `cluster_cpu_ratio_vs_chain`: that ÷ the bare chain's (`bullmq-chain.ts`, one chain per shard
 *   prefix, each conversation on its shard's by `shardOf`) on the same cluster.
 *
 * The load (`cluster-load.ts`) is the same for the three: K conversations of T turns submitted at
 * once, timed until each is over (the pipeline's with its transcript), instant emulators, each
 * system in turn for a few rounds. Every system stays started through all windows, so the idle
 * baseline (every master's and the one node's CPU per second with all three idle, read first) is
 * the same for each and taken off each window. Per turn includes what a conversation costs once
 * (submission, end, transcript), spread over its T turns.
 */
import { shardOf, shardPrefixes } from '../shared/redis-shards';
import { sleep, type BenchContext } from './bench-context';
import { startBullmqChain, type BullmqChain } from './bullmq-chain';
import { runChainLoad, runPipelineLoad, type LoadSpec } from './cluster-load';
import { describeRun, startClusterRig, type ClusterRun, type MasterSample } from './cluster-rig';
import { startPipelineRig, type PipelineRig } from './pipeline-rig';
import { redisCommandsServed } from './redis-commands';
import { redisCpuMs } from './redis-cpu';

/** The deployment's default QUEUE_PREFIX: on a fresh cluster its 3 shard tags land on 3 masters. */
const PREFIX = '{llmconv}';
const SHARDS = 3;

export interface ClusterSystemFigures {
  turns: number;
  ms: number;
  /** Redis CPU per turn, µs, net of the idle baseline (summed over masters on the cluster). */
  cpuUsPerTurn: number;
  commandsPerTurn: number;
  /** Each master's share of the commands (the cluster's systems only). */
  shares?: number[];
}

export interface ClusterBenchResult {
  conversations: number;
  turnsPerConversation: number;
  rounds: number;
  shards: number;
  /** The master of each shard tag, by port (three distinct ones, or the bench stops). */
  shardMasters: number[];
  /** The masters' ports. */
  masters: number[];
  pipeline: ClusterSystemFigures;
  chain: ClusterSystemFigures;
  single: ClusterSystemFigures;
  shareMin: number;
  shareMax: number;
  ratioVsSingle: number;
  ratioVsChain: number;
  /** Idle CPU per second: all masters summed, and the one node, µs/s. */
  idleUsPerSec: { cluster: number; single: number };
  /** The last round's masters, as text. */
  lastPipelineRun: string;
  startSeconds: number;
}

interface Totals {
  turns: number;
  ms: number;
  cpuMs: number;
  commands: number;
  perMaster: number[];
}

const empty = (masters: number): Totals => ({ turns: 0, ms: 0, cpuMs: 0, commands: 0, perMaster: Array(masters).fill(0) });

async function singleSample(ctx: BenchContext): Promise<MasterSample> {
  const [commands, cpuMs] = await Promise.all([redisCommandsServed(ctx.admin), redisCpuMs(ctx.admin)]);
  return { port: 0, commands, cpuMs, at: performance.now() };
}

function figures(t: Totals, idleMsPerMs: number): ClusterSystemFigures {
  const sum = t.perMaster.reduce((a, b) => a + b, 0);
  return {
    turns: t.turns,
    ms: t.ms,
    cpuUsPerTurn: ((t.cpuMs - idleMsPerMs * t.ms) * 1000) / t.turns,
    commandsPerTurn: t.commands / t.turns,
    shares: t.perMaster.length > 1 ? t.perMaster.map((n) => n / sum) : undefined,
  };
}

export async function measureCluster(ctx: BenchContext): Promise<ClusterBenchResult> {
  const conversations = ctx.quick ? 120 : 200;
  const turns = 4;
  const rounds = ctx.quick ? 1 : 2;
  const env = { CLOUD_CONCURRENCY: '8', LOCAL_CONCURRENCY: '8', TRANSCRIPT_CONCURRENCY: '8', RECONCILE_INTERVAL_MS: '0' };
  const t0 = performance.now();
  const rig = await startClusterRig();
  const startSeconds = (performance.now() - t0) / 1000;
  ctx.progress(`cluster: 3 masters + 3 replicas up in ${startSeconds.toFixed(1)} s (masters ${rig.masters.join(', ')})`);
  const parts: Array<{ close(): Promise<void> }> = [];
  try {
    const shardMasters = await rig.mastersOfShards(PREFIX, SHARDS);
    if (new Set(shardMasters).size !== SHARDS)
      throw new Error(`cluster: the shard tags of ${PREFIX} are on masters ${shardMasters.join(', ')}, not one each`);
    const pipeline: PipelineRig = await startPipelineRig({
      redisUrl: rig.target,
      prefix: PREFIX,
      env: { ...env, REDIS_SHARDS: String(SHARDS) },
    });
    parts.push(pipeline);
    const single: PipelineRig = await startPipelineRig({ redisUrl: ctx.redisUrl, prefix: ctx.prefix('cluster-single'), env });
    parts.push(single);
    for (const r of [pipeline, single]) r.cloud.recording = r.local.recording = false;
    const chains: BullmqChain[] = [];
    for (const prefix of shardPrefixes(PREFIX, SHARDS)) {
      const chain = await startBullmqChain({
        redisUrl: rig.target,
        prefix,
        config: pipeline.config,
        cloud: pipeline.cloud,
        local: pipeline.local,
      });
      chains.push(chain);
      parts.push(chain);
    }
    const route = (id: string) => shardOf(id, SHARDS);
    const spec = (label: string, k = conversations, t = turns): LoadSpec => ({ conversations: k, turns: t, label });

    // Warm-up, not counted: scripts loaded on every master, connections and slot maps made.
    await runPipelineLoad(pipeline, spec('warm-up', 24, 2));
    await runPipelineLoad(single, spec('warm-up', 24, 2));
    await runChainLoad(chains, route, pipeline.config, spec('warm-up', 24, 2));

    // The idle baseline: every system started, none working.
    const idle0 = await rig.sample();
    const idleSingle0 = await singleSample(ctx);
    await sleep(ctx.quick ? 1500 : 2000);
    const idle = await rig.since(idle0);
    const idleSingle1 = await singleSample(ctx);
    const idleClusterMsPerMs = idle.cpuMs / idle.ms;
    const idleSingleMsPerMs = (idleSingle1.cpuMs - idleSingle0.cpuMs) / (idleSingle1.at - idleSingle0.at);

    const totals = { pipeline: empty(SHARDS), chain: empty(SHARDS), single: empty(1) };
    const add = (t: Totals, run: ClusterRun, turnsDone: number) => {
      t.turns += turnsDone;
      t.ms += run.ms;
      t.cpuMs += run.cpuMs;
      t.commands += run.commands;
      for (const [i, m] of run.masters.entries()) t.perMaster[i]! += m.commands;
    };
    let lastPipelineRun = '';
    const k = conversations * turns;
    for (let round = 0; round < rounds; round++) {
      {
        const before = await singleSample(ctx);
        await runPipelineLoad(single, spec(`single-${round}`));
        const after = await singleSample(ctx);
        const ms = after.at - before.at;
        const commands = after.commands - before.commands;
        add(
          totals.single,
          {
            masters: [{ port: 0, commands, cpuMs: after.cpuMs - before.cpuMs, share: 1 }],
            commands,
            cpuMs: after.cpuMs - before.cpuMs,
            ms,
            shareMin: 1,
            shareMax: 1,
          },
          k,
        );
      }
      {
        const before = await rig.sample();
        await runPipelineLoad(pipeline, spec(`cluster-${round}`));
        const run = await rig.since(before);
        add(totals.pipeline, run, k);
        lastPipelineRun = describeRun(run);
      }
      {
        const before = await rig.sample();
        await runChainLoad(chains, route, pipeline.config, spec(`chain-${round}`));
        add(totals.chain, await rig.since(before), k);
      }
      ctx.progress(`cluster: round ${round + 1}: pipeline on the cluster ${lastPipelineRun}`);
    }
    const p = figures(totals.pipeline, idleClusterMsPerMs);
    const c = figures(totals.chain, idleClusterMsPerMs);
    const s = figures(totals.single, idleSingleMsPerMs);
    return {
      conversations: conversations * rounds,
      turnsPerConversation: turns,
      rounds,
      shards: SHARDS,
      shardMasters,
      masters: rig.masters,
      pipeline: p,
      chain: c,
      single: s,
      shareMin: Math.min(...p.shares!),
      shareMax: Math.max(...p.shares!),
      ratioVsSingle: p.cpuUsPerTurn / s.cpuUsPerTurn,
      ratioVsChain: p.cpuUsPerTurn / c.cpuUsPerTurn,
      idleUsPerSec: { cluster: idleClusterMsPerMs * 1e6, single: idleSingleMsPerMs * 1e6 },
      lastPipelineRun,
      startSeconds,
    };
  } finally {
    for (const part of parts.reverse()) await part.close();
    await rig.stop();
  }
}
