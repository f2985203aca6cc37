/**
 * Redis's memory as INFO reports it (`used_memory`, `maxmemory`), read at most once per `ttlMs`
 * however many requests ask: callers share the cached reading and the one INFO in flight.
 *
 * @example
 * const memory = new RedisMemory(redis);
 * const { usedBytes, maxBytes } = await memory.read();
 */

export interface RedisMemoryReading {
  usedBytes: number;
  /** `maxmemory`; 0 means no limit. */
  maxBytes: number;
  /** When it was read, ms since the epoch. */
  at: number;
}

/** The two fields of an `INFO memory` reply. */
export function parseMemoryInfo(info: string, at = Date.now()): RedisMemoryReading {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory'), at };
}

export class RedisMemory {
  private last?: RedisMemoryReading;
  private pending?: Promise<RedisMemoryReading>;

  constructor(
    private readonly redis: { info(section: 'memory'): Promise<string> },
    private readonly ttlMs = 1000,
  ) {}

  /** The latest reading, re-read when older than `ttlMs`. Rejects when Redis cannot be asked. */
  async read(): Promise<RedisMemoryReading> {
    if (this.last && Date.now() - this.last.at < this.ttlMs) return this.last;
    this.pending ??= this.redis.info('memory').then(
      (info) => {
        this.pending = undefined;
        return (this.last = parseMemoryInfo(info));
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    return this.pending;
  }
}
