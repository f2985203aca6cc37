/**
 * What the loopback Redis Cluster and Sentinel rigs share (redis-cluster.ts, redis-sentinel.ts):
 * one admin connection per port, made on first use, that never throws on a dead node, and the
 * SIGKILL of every process a rig started.
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

export interface AdminConnections {
  /** The admin connection to a node on 127.0.0.1:port (one per port). */
  admin(port: number): Redis;
  /** Disconnects and forgets one port's (its node is about to die). */
  drop(port: number): void;
  /** Disconnects them all. */
  close(): void;
}

export function adminConnections(): AdminConnections {
  const admins = new Map<number, Redis>();
  return {
    admin(port) {
      let a = admins.get(port);
      if (!a) {
        a = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
        a.on('error', () => undefined);
        admins.set(port, a);
      }
      return a;
    },
    drop(port) {
      admins.get(port)?.disconnect();
      admins.delete(port);
    },
    close() {
      for (const a of admins.values()) a.disconnect();
    },
  };
}

/** SIGKILLs every process still running and resolves once each has exited. */
export async function killAll(processes: Array<{ process?: ChildProcess }>): Promise<void> {
  await Promise.all(
    processes.map(
      ({ process: p }) =>
        new Promise<void>((resolve) => {
          if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}
