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
 * Two more systems say where a difference comes from (context, no key; not with --quick): the
 * pipeline with REDIS_SHARDS=1 on the cluster (one master busy: what cluster mode and a replica
 * cost) and the bare chain on the one node (what spreading costs BullMQ alone).
 *
 * The load (`cluster-load.ts`) is the same for all: K conversations of T turns submitted at once,
 * timed until each is over (the pipeline's with its transcript), instant emulators, each system in
 * turn for a few rounds. Every system stays started through all windows, so the idle baseline
 * (every master's and the one node's CPU per second with all of them idle, read first) is the same
 * for each and taken off each window. Per turn includes what a conversation costs once
 * (submission, end, transcript), spread over its T turns.
 */
import { shardOf, shardPrefixes } from '../shared/redis-shards';
import type { RedisTarget } from '../shared/redis-target';
import { sleep, type BenchContext } from './bench-context';
import { startBullmqChain, type BullmqChain } from './bullmq-chain';
import { runChainLoad, runPipelineLoad, type LoadSpec } from './cluster-load';
import { describeRun, runBetween, sampleNodes, startClusterRig, type NodeSample, type NodesRun } from './cluster-rig';
import { startPipelineRig } from './pipeline-rig';

/** The deployment's default QUEUE_PREFIX: on a fresh cluster its 3 shard tags land on 3 masters. */
const PREFIX = '{llmconv}';
const SHARDS = 3;
const CONTEXT_SYSTEMS: readonly SystemName[] = ['pipelineOneShard', 'chainSingle'];

export interface ClusterSystemFigures {
  turns: number;
  ms: number;
  /** Redis CPU per turn, µs, net of the idle baseline (summed over masters on the cluster). */
  cpuUsPerTurn: number;
  /** Its system part (`used_cpu_sys`: the syscalls, reads and writes of sockets and the AOF). */
  sysUsPerTurn: number;
  commandsPerTurn: number;
  /** Time inside commands per turn (commandstats `usec`), µs; the idle baseline's is not taken off (its commands are a few polls). */
  inCommandsUsPerTurn: number;
  /** µs per call of the scripts (EVALSHA: BullMQ's and the pipeline's) and of PUBLISH (on a cluster, sent to every node). */
  evalshaUsPerCall: number;
  publishUsPerCall: number;
  publishesPerTurn: number;
  /** Each master's share of the commands (the cluster's systems only). */
  shares?: number[];
}

type KeySystem = 'pipeline' | 'chain' | 'single';
/** Not with --quick (they make the phase last about 10 s longer). */
type ContextSystem = 'pipelineOneShard' | 'chainSingle';
type SystemName = KeySystem | ContextSystem;

export interface ClusterBenchResult {
  conversations: number;
  turnsPerConversation: number;
  rounds: number;
  shards: number;
  /** The master of each shard tag, by port (three distinct ones, or the bench stops). */
  shardMasters: number[];
  /** The masters' ports. */
  masters: number[];
  systems: Record<KeySystem, ClusterSystemFigures> & Partial<Record<ContextSystem, ClusterSystemFigures>>;
  /** The 3-shard pipeline's conversations on each shard (by id, `ShardSet.shardOf`). */
  conversationsPerShard: number[];
  /** The master of QUEUE_PREFIX's own tag (the global one: fleet-wide state). */
  globalMaster: number;
  shareMin: number;
  shareMax: number;
  ratioVsSingle: number;
  ratioVsChain: number;
  /** Idle CPU per second: all masters summed, and the one node, µs/s. */
  idleUsPerSec: { cluster: number; single: number };
  /** The last round's masters under the 3-shard pipeline, as text. */
  lastPipelineRun: string;
  startSeconds: number;
}

interface Totals {
  turns: number;
  ms: number;
  cpuMs: number;
  sysMs: number;
  commands: number;
  commandMs: number;
  evalsha: { calls: number; usec: number };
  publish: { calls: number; usec: number };
  perNode: number[];
}

interface Idle {
  cpuPerMs: number;
  sysPerMs: number;
}

function figures(t: Totals, idle: Idle): ClusterSystemFigures {
  const sum = t.perNode.reduce((a, b) => a + b, 0);
  return {
    turns: t.turns,
    ms: t.ms,
    cpuUsPerTurn: ((t.cpuMs - idle.cpuPerMs * t.ms) * 1000) / t.turns,
    sysUsPerTurn: ((t.sysMs - idle.sysPerMs * t.ms) * 1000) / t.turns,
    commandsPerTurn: t.commands / t.turns,
    inCommandsUsPerTurn: (t.commandMs * 1000) / t.turns,
    evalshaUsPerCall: t.evalsha.usec / t.evalsha.calls,
    publishUsPerCall: t.publish.usec / t.publish.calls,
    publishesPerTurn: t.publish.calls / t.turns,
    shares: t.perNode.length > 1 ? t.perNode.map((n) => n / sum) : undefined,
  };
}

export async function measureCluster(ctx: BenchContext): Promise<ClusterBenchResult> {
  const conversations = ctx.quick ? 120 : 150;
  const turns = 4;
  const rounds = 1;
  const env = { CLOUD_CONCURRENCY: '8', LOCAL_CONCURRENCY: '8', TRANSCRIPT_CONCURRENCY: '8', RECONCILE_INTERVAL_MS: '0' };
  const t0 = performance.now();
  const rig = await startClusterRig();
  const startSeconds = (performance.now() - t0) / 1000;
  ctx.progress(`cluster: 3 masters + 3 replicas up in ${startSeconds.toFixed(1)} s (masters ${rig.masters.join(', ')})`);
  const parts: Array<{ close(): Promise<void> }> = [];
  const singleNode = () => sampleNodes([{ port: 0, admin: ctx.admin }]);
  try {
    const shardMasters = await rig.mastersOfShards(PREFIX, SHARDS);
    if (new Set(shardMasters).size !== SHARDS)
      throw new Error(`cluster: the shard tags of ${PREFIX} are on masters ${shardMasters.join(', ')}, not one each`);
    const pipelineOn = async (redisUrl: RedisTarget, prefix: string, extra = {}) => {
      const p = await startPipelineRig({ redisUrl, prefix, env: { ...env, ...extra } });
      parts.push(p);
      p.cloud.recording = p.local.recording = false;
      return p;
    };
    const pipeline = await pipelineOn(rig.target, PREFIX, { REDIS_SHARDS: String(SHARDS) });
    const pipelineOneShard = ctx.quick ? undefined : await pipelineOn(rig.target, ctx.prefix('cluster-one'));
    const single = await pipelineOn(ctx.redisUrl, ctx.prefix('cluster-single'));
    const chainOn = async (redisUrl: RedisTarget, prefix: string): Promise<BullmqChain> => {
      const chain = await startBullmqChain({ redisUrl, prefix, config: pipeline.config, cloud: pipeline.cloud, local: pipeline.local });
      parts.push(chain);
      return chain;
    };
    const chains: BullmqChain[] = [];
    for (const prefix of shardPrefixes(PREFIX, SHARDS)) chains.push(await chainOn(rig.target, prefix));
    const chainSingle = ctx.quick ? [] : [await chainOn(ctx.redisUrl, ctx.prefix('cluster-chain-single'))];
    const route = (id: string) => shardOf(id, SHARDS);
    const spec = (label: string, k = conversations, t = turns): LoadSpec => ({ conversations: k, turns: t, label });

    const perShard = Array<number>(SHARDS).fill(0);
    type System = { name: SystemName; onCluster: boolean; run(label: string, k?: number, t?: number): Promise<unknown> };
    const all: System[] = [
      { name: 'single', onCluster: false, run: (l, k, t) => runPipelineLoad(single, spec(l, k, t)) },
      {
        name: 'pipeline',
        onCluster: true,
        run: async (l, k, t) => {
          const ids = await runPipelineLoad(pipeline, spec(l, k, t));
          if (k === undefined) for (const id of ids) perShard[pipeline.store.shards.shardOf(id)]! += 1;
        },
      },
      { name: 'chain', onCluster: true, run: (l, k, t) => runChainLoad(chains, route, pipeline.config, spec(l, k, t)) },
      { name: 'pipelineOneShard', onCluster: true, run: (l, k, t) => runPipelineLoad(pipelineOneShard!, spec(l, k, t)) },
      { name: 'chainSingle', onCluster: false, run: (l, k, t) => runChainLoad(chainSingle, () => 0, pipeline.config, spec(l, k, t)) },
    ];
    const systems = all.filter((sys) => !ctx.quick || !CONTEXT_SYSTEMS.includes(sys.name));
    // Warm-up, not counted: scripts loaded on every master, connections and slot maps made.
    for (const s of systems) await s.run(`warm-up ${s.name}`, 12, 2);

    // The idle baseline: every system started, none working.
    const idle0 = { cluster: await rig.sample(), single: await singleNode() };
    await sleep(ctx.quick ? 1500 : 2000);
    const idleCluster = await rig.since(idle0.cluster);
    const idleSingle = runBetween(idle0.single, await singleNode());
    const idleOf = (r: NodesRun): Idle => ({ cpuPerMs: r.cpuMs / r.ms, sysPerMs: r.sysMs / r.ms });

    const totals = Object.fromEntries(
      systems.map((s) => [
        s.name,
        {
          turns: 0,
          ms: 0,
          cpuMs: 0,
          sysMs: 0,
          commands: 0,
          commandMs: 0,
          evalsha: { calls: 0, usec: 0 },
          publish: { calls: 0, usec: 0 },
          perNode: Array(s.onCluster ? SHARDS : 1).fill(0),
        },
      ]),
    ) as Record<SystemName, Totals>;
    let lastPipelineRun = '';
    for (let round = 0; round < rounds; round++) {
      for (const s of systems) {
        const sample = (): Promise<NodeSample[]> => (s.onCluster ? rig.sample() : singleNode());
        const before = await sample();
        await s.run(`${s.name}-${round}`);
        const run = runBetween(before, await sample());
        const t = totals[s.name];
        t.turns += conversations * turns;
        t.ms += run.ms;
        t.cpuMs += run.cpuMs;
        t.sysMs += run.sysMs;
        t.commands += run.commands;
        t.commandMs += run.commandMs;
        for (const name of ['evalsha', 'publish'] as const) {
          const c = run.byCommand.get(name) ?? { calls: 0, usec: 0 };
          t[name].calls += c.calls;
          t[name].usec += c.usec;
        }
        for (const [i, m] of run.nodes.entries()) t.perNode[i]! += m.commands;
        if (s.name === 'pipeline') lastPipelineRun = describeRun(run);
      }
      ctx.progress(`cluster: round ${round + 1}: the 3-shard pipeline's masters ${lastPipelineRun}`);
    }
    const out = Object.fromEntries(
      systems.map((s) => [s.name, figures(totals[s.name], idleOf(s.onCluster ? idleCluster : idleSingle))]),
    ) as ClusterBenchResult['systems'];
    const p = out.pipeline;
    return {
      conversations: conversations * rounds,
      turnsPerConversation: turns,
      rounds,
      shards: SHARDS,
      shardMasters,
      masters: rig.masters,
      systems: out,
      conversationsPerShard: perShard,
      globalMaster: await rig.cluster.masterOf(PREFIX),
      shareMin: Math.min(...p.shares!),
      shareMax: Math.max(...p.shares!),
      ratioVsSingle: p.cpuUsPerTurn / out.single.cpuUsPerTurn,
      ratioVsChain: p.cpuUsPerTurn / out.chain.cpuUsPerTurn,
      idleUsPerSec: { cluster: idleOf(idleCluster).cpuPerMs * 1e6, single: idleOf(idleSingle).cpuPerMs * 1e6 },
      lastPipelineRun,
      startSeconds,
    };
  } finally {
    for (const part of parts.reverse()) await part.close();
    await rig.stop();
  }
}
