/**
 * A real Redis Cluster on loopback for the cluster tests: `masters` redis-server processes with
 * `--cluster-enabled yes` and one replica each, joined by `redis-cli --cluster create ...
 * --cluster-replicas 1 --cluster-yes` (Redis's own tool; https://redis.io/docs/latest/operate/oss_and_stack/management/scaling/,
 * read 2026-12-04). Free ports, bus ports set with `cluster-port` (Redis ≥ 7), a short
 * `cluster-node-timeout` so a killed master's replica is promoted in a few seconds; healthy means
 * every replica's link is up too (one that never synced is never promoted). Each node keeps
 * its own dir (nodes.conf), so a killed node restarted there rejoins as what the cluster says it is.
 *
 * @example
 * const cluster = await startRedisCluster();
 * const master = await cluster.masterOf('{llmconv}');
 * await cluster.kill(master);  // kill -9
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { findRedisBinary, freePort } from '../../shared/embedded-redis';
import { adminConnections, killAll } from './redis-processes';

const run = promisify(execFile);

export interface ClusterNodeProcess {
  port: number;
  busPort: number;
  dir: string;
  process?: ChildProcess;
}

export interface RedisCluster {
  nodes: ClusterNodeProcess[];
  /** `127.0.0.1:port` of every node (REDIS_CLUSTER_NODES). */
  addresses: string[];
  /** A plain connection to one node (for CLUSTER, INFO, CONFIG on that node). */
  admin(port: number): Redis;
  /** The port of the master that owns `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** The ports of the masters now. */
  masters(): Promise<number[]>;
  /** kill -9 of the node at `port`. */
  kill(port: number): Promise<void>;
  /** Starts the node at `port` again in its own dir (it rejoins with its nodes.conf). */
  restart(port: number): Promise<void>;
  /** Until every live node reports cluster_state:ok and agrees on the masters. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const NODE_TIMEOUT_MS = 1500;

async function startNode(bin: string, node: ClusterNodeProcess): Promise<void> {
  const args = [
    '--port',
    String(node.port),
    '--bind',
    '127.0.0.1',
    '--cluster-enabled',
    'yes',
    '--cluster-port',
    String(node.busPort),
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(NODE_TIMEOUT_MS),
    '--dir',
    node.dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
    '--protected-mode',
    'no',
  ];
  const child = spawn(bin, [...args, ...(process.env.CLUSTER_LOGS ? ['--logfile', path.join(node.dir, 'log')] : [])], { stdio: 'ignore' });
  node.process = child;
  const conn = new Redis(node.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  conn.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  try {
    for (;;) {
      try {
        await conn.connect();
        if ((await conn.ping()) === 'PONG') return;
      } catch {
        conn.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on ${node.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    conn.disconnect();
  }
}

export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisCluster> {
  const count = (opts.masters ?? 3) * 2;
  const bin = findRedisBinary();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-cluster-'));
  const nodes: ClusterNodeProcess[] = [];
  const used = new Set<number>();
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, `node-${i}`);
    fs.mkdirSync(dir);
    nodes.push({ port: await pick(), busPort: await pick(), dir });
  }
  const admins = adminConnections();
  const admin = admins.admin;
  const stop = async () => {
    admins.close();
    await killAll(nodes);
    if (!process.env.CLUSTER_LOGS) fs.rmSync(root, { recursive: true, force: true });
  };
  const live = () => nodes.filter((n) => n.process && n.process.exitCode === null && n.process.signalCode === null);
  const mastersNow = async (): Promise<number[]> => {
    const out = new Set<number>();
    for (const n of live()) {
      const text = String(await admin(n.port).call('CLUSTER', 'NODES'));
      for (const line of text.trim().split('\n')) {
        const [, addr, flags] = line.split(' ');
        if (flags?.includes('master') && !flags.includes('fail')) out.add(Number(addr!.split('@')[0]!.split(':')[1]));
      }
      return [...out];
    }
    return [];
  };
  const cluster: RedisCluster = {
    nodes,
    addresses: nodes.map((n) => `127.0.0.1:${n.port}`),
    admin,
    masters: mastersNow,
    async masterOf(key) {
      const slot = Number(await admin(live()[0]!.port).call('CLUSTER', 'KEYSLOT', key));
      const slots = (await admin(live()[0]!.port).call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const range = slots.find(([a, b]) => slot >= a && slot <= b);
      if (!range) throw new Error(`no node owns slot ${slot}`);
      return Number(range[2][1]);
    },
    async kill(port) {
      const n = nodes.find((x) => x.port === port)!;
      admins.drop(port);
      await killAll([n]);
    },
    async restart(port) {
      await startNode(bin, nodes.find((x) => x.port === port)!);
    },
    async waitHealthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const states = await Promise.all(live().map(async (n) => String(await admin(n.port).call('CLUSTER', 'INFO'))));
          const masters = await mastersNow();
          // A replica that never finished its first sync is never promoted: wait for every link.
          const links = await Promise.all(live().map(async (n) => String(await admin(n.port).info('replication'))));
          const synced = links.every((r) => !/^role:slave/m.test(r) || /^master_link_status:up/m.test(r));
          if (states.every((s) => /cluster_state:ok/.test(s)) && masters.length === count / 2 && synced) return;
        } catch {
          /* a node still starting */
        }
        if (Date.now() > deadline) throw new Error(`cluster not healthy after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
  };
  try {
    await Promise.all(nodes.map((n) => startNode(bin, n)));
    const cli = findRedisBinary('redis-cli');
    await run(cli, ['--cluster', 'create', ...cluster.addresses, '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
    await cluster.waitHealthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}
