/**
 * A real primary with one replica under three sentinels on loopback, for the Sentinel test:
 * redis-server processes, the sentinels started as `redis-server <conf> --sentinel` with
 * `sentinel monitor <name> 127.0.0.1 <port> 2`, a 1 s `down-after-milliseconds` so a killed
 * primary is replaced in seconds (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/,
 * read 2026-12-04). Each process has its own dir; a sentinel rewrites its conf as it learns.
 *
 * @example
 * const group = await startSentinelGroup();
 * await group.kill(await group.masterPort());
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { findRedisBinary, freePort } from '../../shared/embedded-redis';
import { adminConnections, killAll } from './redis-processes';

export interface SentinelGroup {
  name: string;
  /** `127.0.0.1:port` of each sentinel (REDIS_SENTINELS). */
  sentinels: string[];
  /** The port the sentinels name as the master now. */
  masterPort(): Promise<number>;
  /** A plain connection to a data node. */
  admin(port: number): Redis;
  kill(port: number): Promise<void>;
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

interface Proc {
  port: number;
  dir: string;
  args: string[];
  process?: ChildProcess;
}

async function answers(port: number, timeoutMs = 10_000): Promise<void> {
  const conn = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  conn.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await conn.connect();
        if ((await conn.ping()) === 'PONG') return;
      } catch {
        conn.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`nothing answers on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    conn.disconnect();
  }
}

export async function startSentinelGroup(name = 'llmconv-test'): Promise<SentinelGroup> {
  const bin = findRedisBinary();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-sentinel-'));
  const procs: Proc[] = [];
  const start = async (p: Proc) => {
    p.process = spawn(bin, p.args, { stdio: 'ignore' });
    await answers(p.port);
  };
  const dataNode = async (i: number, replicaOf?: number): Promise<Proc> => {
    const port = await freePort();
    const dir = path.join(root, `data-${i}`);
    fs.mkdirSync(dir);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'];
    args.push('--repl-diskless-sync-delay', '0', '--maxmemory-policy', 'noeviction');
    if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    const p = { port, dir, args };
    procs.push(p);
    await start(p);
    return p;
  };
  const admins = adminConnections();
  const admin = admins.admin;
  const stop = async () => {
    admins.close();
    await killAll(procs);
    fs.rmSync(root, { recursive: true, force: true });
  };
  const sentinelPorts: number[] = [];
  try {
    const primary = await dataNode(0);
    const replica = await dataNode(1, primary.port);
    // The replica's first sync done: a replica that never synced is not promoted.
    const deadline = Date.now() + 10_000;
    while (!/^master_link_status:up/m.test(await admin(replica.port).info('replication'))) {
      if (Date.now() > deadline) throw new Error('the replica did not sync');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = path.join(root, `sentinel-${i}`);
      fs.mkdirSync(dir);
      const conf = path.join(dir, 'sentinel.conf');
      fs.writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const p = { port, dir, args: [conf, '--sentinel'] };
      procs.push(p);
      await start(p);
      sentinelPorts.push(port);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name,
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`),
    async masterPort() {
      const addr = (await admin(sentinelPorts[0]!).call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string];
      return Number(addr[1]);
    },
    admin,
    async kill(port) {
      const p = procs.find((x) => x.port === port)!;
      admins.drop(port);
      await killAll([p]);
    },
    async restart(port) {
      const p = procs.find((x) => x.port === port)!;
      // Started as it was (a primary): the sentinels turn it into a replica of the new master.
      await start(p);
    },
    stop,
  };
}
