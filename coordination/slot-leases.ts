/**
 * A fleet-wide counting semaphore per Ollama endpoint, held in Redis as leases with an expiry, so
 * every worker process on every host shares each host's slots and a killed worker's slots come
 * back by themselves (no process is trusted to release).
 *
 * Layout: one sorted set per endpoint, `<prefix>:ollama-slots:<endpoint>`, member = lease id,
 * score = when the lease expires (Redis server time, ms, so the clocks of worker hosts do not
 * matter). Each script first drops expired leases. A release publishes on
 * `<prefix>:ollama-slots:released`, which wakes waiters in every process at once.
 *
 * @example
 * const leases = new SlotLeases(redis, '{llmconv}');
 * await leases.listen();
 * const at = await leases.acquire([{ id: 'http://gpu1:11434', slots: 4 }], 'lease-1', 30_000); // 0, or -1 when all are busy
 * await leases.renew('http://gpu1:11434', 'lease-1', 30_000);
 * await leases.release('http://gpu1:11434', 'lease-1');
 */
import type { Redis } from 'ioredis';
import { loadScript } from './redis-script';
import { duplicateConnection } from '../shared/redis-connection';

/** One endpoint as the semaphore sees it. */
export interface SlotPool {
  /** Stable endpoint id (its URL, host-qualified for a loopback URL). */
  id: string;
  slots: number;
}

// The scripts, coordination/lua/slot-leases/ (headers there name KEYS, ARGV and the reply).
const ACQUIRE = loadScript('slot-leases/acquire', 'variadic');
const RENEW = loadScript('slot-leases/renew', 1);
const RELEASE = loadScript('slot-leases/release', 2);
const COUNT = loadScript('slot-leases/count', 'variadic');

export class SlotLeases {
  private readonly prefix: string;
  private readonly channel: string;
  private sub: Redis | undefined;
  private waiters = new Set<() => void>();

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.prefix = `${prefix}:ollama-slots:`;
    this.channel = `${prefix}:ollama-slots:released`;
  }

  private key(id: string): string {
    return this.prefix + id;
  }

  /** Subscribes (on a duplicate connection) to releases, so {@link waitForRelease} wakes at once. */
  async listen(): Promise<void> {
    if (this.sub) return;
    const sub = duplicateConnection(this.redis);
    this.sub = sub;
    sub.on('error', () => undefined);
    sub.on('message', () => this.wake());
    await sub.subscribe(this.channel);
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Takes a slot on the least busy of `pools`: the index taken, or -1 when all are full. */
  async acquire(pools: SlotPool[], leaseId: string, leaseMs: number): Promise<number> {
    if (pools.length === 0) return -1;
    const r = await ACQUIRE.run(
      this.redis,
      pools.map((p) => this.key(p.id)),
      [leaseMs, leaseId, ...pools.map((p) => p.slots)],
    );
    return Number(r);
  }

  /** Extends a held lease; false when it had already expired (its slot may have been given away). */
  async renew(id: string, leaseId: string, leaseMs: number): Promise<boolean> {
    return Number(await RENEW.run(this.redis, [this.key(id)], [leaseMs, leaseId])) === 1;
  }

  /** Gives a slot back and wakes the waiters of every process. */
  async release(id: string, leaseId: string): Promise<void> {
    await RELEASE.run(this.redis, [this.key(id), this.channel], [leaseId]);
  }

  /** Live leases per endpoint (expired ones dropped). */
  async inUse(ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    return (
      (await COUNT.run(
        this.redis,
        ids.map((i) => this.key(i)),
        [],
      )) as number[]
    ).map(Number);
  }

  /** Resolves on the next release anywhere in the fleet, or after `ms` (a missed message costs at most that). */
  waitForRelease(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops listening (the main connection is the caller's). */
  async close(): Promise<void> {
    this.wake();
    const sub = this.sub;
    this.sub = undefined;
    if (!sub) return;
    if (sub.status === 'ready') await sub.quit().catch(() => sub.disconnect());
    else sub.disconnect();
  }
}
