/**
 * The real Redis Cluster the cluster bench and its test measure on: 3 masters + 3 replicas on
 * loopback (`test/helpers/redis-cluster.ts`, the cluster tests' own starter), and what is read from
 * each master before and after a run: the commands it served (INFO commandstats, every `calls=`
 * summed) and its CPU (INFO cpu, `used_cpu_user` + `used_cpu_sys`; `redis-cpu.ts`). Replicas are
 * never sampled: the shares and the CPU are the masters'.
 *
 * @example
 * const rig = await startClusterRig();
 * const before = await rig.sample();
 * // ... a run ...
 * const run = rig.since(before);   // per master: commands, cpuMs; and each one's share
 */
import type { Redis } from 'ioredis';
import { shardPrefixes } from '../shared/redis-shards';
import type { RedisTarget } from '../shared/redis-target';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis-cluster';
import { redisCommandsServed } from './redis-commands';
import { redisCpuMs } from './redis-cpu';

/** One master's counters at a moment. */
export interface MasterSample {
  port: number;
  commands: number;
  cpuMs: number;
  at: number;
}

/** What each master did between two samples. */
export interface MasterRun {
  port: number;
  commands: number;
  cpuMs: number;
  /** Its share of the commands all masters served. */
  share: number;
}

export interface ClusterRun {
  masters: MasterRun[];
  commands: number;
  cpuMs: number;
  ms: number;
  shareMin: number;
  shareMax: number;
}

export interface ClusterRig {
  cluster: RedisCluster;
  /** REDIS_CLUSTER_NODES of the cluster, as the rigs take it. */
  target: RedisTarget;
  /** The masters' ports when the rig started (no failover here). */
  masters: number[];
  sample(): Promise<MasterSample[]>;
  /** Each master's commands and CPU since `before`, and its share of the commands. */
  since(before: MasterSample[]): Promise<ClusterRun>;
  /** The master of each of `shards` shard prefixes of `prefix` (shared/redis-shards.ts). */
  mastersOfShards(prefix: string, shards: number): Promise<number[]>;
  /** FLUSHALL on every master (the replicas follow). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startClusterRig(): Promise<ClusterRig> {
  const cluster = await startRedisCluster({ masters: 3 });
  try {
    const masters = (await cluster.masters()).sort((a, b) => a - b);
    const admin = (port: number): Redis => cluster.admin(port);
    const sample = () =>
      Promise.all(
        masters.map(async (port) => {
          const [commands, cpuMs] = await Promise.all([redisCommandsServed(admin(port)), redisCpuMs(admin(port))]);
          return { port, commands, cpuMs, at: performance.now() };
        }),
      );
    return {
      cluster,
      target: { clusterNodes: cluster.addresses },
      masters,
      sample,
      async since(before) {
        const after = await sample();
        const runs = after.map((a, i) => ({ port: a.port, commands: a.commands - before[i]!.commands, cpuMs: a.cpuMs - before[i]!.cpuMs }));
        const commands = runs.reduce((s, r) => s + r.commands, 0);
        const withShares = runs.map((r) => ({ ...r, share: r.commands / commands }));
        const shares = withShares.map((r) => r.share);
        return {
          masters: withShares,
          commands,
          cpuMs: runs.reduce((s, r) => s + r.cpuMs, 0),
          ms: Math.max(...after.map((a) => a.at)) - Math.min(...before.map((b) => b.at)),
          shareMin: Math.min(...shares),
          shareMax: Math.max(...shares),
        };
      },
      mastersOfShards: (prefix, shards) => Promise.all(shardPrefixes(prefix, shards).map((p) => cluster.masterOf(p))),
      async flush() {
        await Promise.all(masters.map((port) => admin(port).flushall()));
      },
      stop: () => cluster.stop(),
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** A run's masters as text: `port: commands (share), cpu ms` each. */
export function describeRun(run: ClusterRun): string {
  return run.masters.map((m) => `${m.port}: ${m.commands} (${m.share.toFixed(3)}), ${m.cpuMs.toFixed(0)} ms CPU`).join('; ');
}
