/**
 * The real Redis Cluster the cluster bench and its test measure on: 3 masters + 3 replicas on
 * loopback (`test/helpers/redis-cluster.ts`, the cluster tests' own starter), and what is read from
 * each master before and after a run: the commands it served (INFO commandstats, every `calls=`
 * summed; `redis-commands.ts`) and its CPU (INFO cpu, `used_cpu_user` and `used_cpu_sys`;
 * `redis-cpu.ts`). Replicas are never sampled: the shares and the CPU are the masters'. The same
 * counters are read from any one redis-server with {@link sampleNodes}.
 *
 * @example
 * const rig = await startClusterRig();
 * const before = await rig.sample();
 * // ... a run ...
 * const run = rig.since(before);   // per master: commands, CPU; and each one's share
 */
import type { Redis } from 'ioredis';
import { shardPrefixes } from '../shared/redis-shards';
import type { RedisTarget } from '../shared/redis-target';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis-cluster';
import { redisCommandStats, type CommandStats } from './redis-commands';
import { redisCpuTimes } from './redis-cpu';

/** One node's counters at a moment. */
export interface NodeSample {
  port: number;
  commands: number;
  /** Per command: calls and µs inside it. */
  stats: CommandStats;
  userMs: number;
  sysMs: number;
  at: number;
}

/** What each node did between two samples. */
export interface NodeRun {
  port: number;
  commands: number;
  /** Time inside commands (commandstats `usec`), ms: the rest of cpuMs is the event loop, sockets, replication. */
  commandMs: number;
  cpuMs: number;
  sysMs: number;
  /** Its share of the commands all the sampled nodes served. */
  share: number;
}

export interface NodesRun {
  nodes: NodeRun[];
  commands: number;
  commandMs: number;
  /** Per command over all the nodes: calls and µs inside it. */
  byCommand: CommandStats;
  cpuMs: number;
  sysMs: number;
  ms: number;
  shareMin: number;
  shareMax: number;
}

/** The counters of each node (`port` only labels it). */
export function sampleNodes(nodes: ReadonlyArray<{ port: number; admin: Redis }>): Promise<NodeSample[]> {
  return Promise.all(
    nodes.map(async ({ port, admin }) => {
      const [stats, cpu] = await Promise.all([redisCommandStats(admin), redisCpuTimes(admin)]);
      const commands = [...stats.values()].reduce((sum, c) => sum + c.calls, 0);
      return { port, commands, stats, ...cpu, at: performance.now() };
    }),
  );
}

/** Each node's work between two samples of the same nodes, and its share of the commands. */
export function runBetween(before: readonly NodeSample[], after: readonly NodeSample[]): NodesRun {
  const byCommand: CommandStats = new Map();
  const runs = after.map((a, i) => {
    const b = before[i]!;
    let usec = 0;
    for (const [name, c] of a.stats) {
      const was = b.stats.get(name) ?? { calls: 0, usec: 0 };
      const sum = byCommand.get(name) ?? { calls: 0, usec: 0 };
      byCommand.set(name, { calls: sum.calls + c.calls - was.calls, usec: sum.usec + c.usec - was.usec });
      usec += c.usec - was.usec;
    }
    return {
      port: a.port,
      commands: a.commands - b.commands,
      commandMs: usec / 1000,
      cpuMs: a.userMs + a.sysMs - b.userMs - b.sysMs,
      sysMs: a.sysMs - b.sysMs,
    };
  });
  const commands = runs.reduce((s, r) => s + r.commands, 0);
  const nodes = runs.map((r) => ({ ...r, share: r.commands / commands }));
  const shares = nodes.map((r) => r.share);
  return {
    nodes,
    commands,
    commandMs: runs.reduce((s, r) => s + r.commandMs, 0),
    byCommand,
    cpuMs: runs.reduce((s, r) => s + r.cpuMs, 0),
    sysMs: runs.reduce((s, r) => s + r.sysMs, 0),
    ms: Math.max(...after.map((a) => a.at)) - Math.min(...before.map((b) => b.at)),
    shareMin: Math.min(...shares),
    shareMax: Math.max(...shares),
  };
}

export interface ClusterRig {
  cluster: RedisCluster;
  /** REDIS_CLUSTER_NODES of the cluster, as the rigs take it. */
  target: RedisTarget;
  /** The masters' ports when the rig started (no failover here). */
  masters: number[];
  /** Every master's counters. */
  sample(): Promise<NodeSample[]>;
  /** Each master's commands and CPU since `before`, and its share of the commands. */
  since(before: NodeSample[]): Promise<NodesRun>;
  /** The master of each of `shards` shard prefixes of `prefix` (shared/redis-shards.ts). */
  mastersOfShards(prefix: string, shards: number): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startClusterRig(): Promise<ClusterRig> {
  const cluster = await startRedisCluster({ masters: 3 });
  try {
    const masters = (await cluster.masters()).sort((a, b) => a - b);
    const sample = () => sampleNodes(masters.map((port) => ({ port, admin: cluster.admin(port) })));
    return {
      cluster,
      target: { clusterNodes: cluster.addresses },
      masters,
      sample,
      since: async (before) => runBetween(before, await sample()),
      mastersOfShards: (prefix, shards) => Promise.all(shardPrefixes(prefix, shards).map((p) => cluster.masterOf(p))),
      stop: () => cluster.stop(),
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** A run's nodes as text: `port: commands (share), CPU ms` each. */
export function describeRun(run: NodesRun): string {
  return run.nodes.map((m) => `${m.port}: ${m.commands} (${m.share.toFixed(3)}), ${m.cpuMs.toFixed(0)} ms CPU`).join('; ');
}
