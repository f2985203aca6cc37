/**
 * The shard prefixes of QUEUE_PREFIX and the shard an id belongs to (issue 26, part 4: work spread
 * over N hash tags so that N Redis Cluster masters share it).
 *
 * Redis Cluster hashes only what lies between the first `{` of a key and the first `}` after it,
 * when that is not empty (the cluster specification's "hash tags"; redis.io, CLUSTER KEYSLOT, read
 * 2026-12-04). Every key of the pipeline starts with QUEUE_PREFIX, so its tag decides the slot:
 *
 * - one shard (the default) is the prefix itself, byte for byte: `{llmconv}` stays `{llmconv}`;
 * - N shards are the prefix with its tag suffixed `-k`: `{llmconv}` gives `{llmconv-0}` …
 *   `{llmconv-N-1}`, a custom `app{x}:` gives `app{x-0}:` … (what is outside the braces is kept);
 * - a prefix without a tag cannot be sharded (its keys would hash whole, each to its own slot, and
 *   the scripts would fail CROSSSLOT): refused naming QUEUE_PREFIX.
 *
 * The unsuffixed prefix is the global tag: fleet-wide state (the cloud limiter, the Ollama slot
 * leases, the model quirks) stays there whatever the number of shards.
 *
 * The shard of an id is the first 32 bits of its SHA-256 modulo N: stable across processes, hosts
 * and versions (unlike a language's own string hash), and even for random and derived ids alike.
 *
 * {@link ShardSet} is what the stores and queues hold: the shard prefixes, the global one, and the
 * prefix of an id's shard (`at(id)`). State that one script touches together is kept on one shard by
 * choosing ids, never by moving keys: a new id is drawn (or derived with a counter) until its shard is
 * the one it must share (`newId`): a run's conversations the run's, a fork its parent's, an API key's
 * work the key's (docs/deploy.md, "Shards").
 */
import { createHash } from 'node:crypto';
import { ConfigError } from './errors';

/** The hash tag of `key` as Redis Cluster reads it (the text between the braces), or undefined. */
export function hashTagOf(key: string): { start: number; end: number; tag: string } | undefined {
  const start = key.indexOf('{');
  if (start < 0) return undefined;
  const end = key.indexOf('}', start + 1);
  if (end < 0 || end === start + 1) return undefined;
  return { start, end, tag: key.slice(start + 1, end) };
}

function checkShards(shards: number): void {
  if (!Number.isInteger(shards) || shards < 1)
    throw new ConfigError(`REDIS_SHARDS=${shards} is not a whole number of at least 1`, 'REDIS_SHARDS');
}

/** The prefixes of `shards` shards of `prefix` (QUEUE_PREFIX); one shard is `[prefix]` unchanged. */
export function shardPrefixes(prefix: string, shards: number): string[] {
  checkShards(shards);
  if (shards === 1) return [prefix];
  const tag = hashTagOf(prefix);
  if (!tag)
    throw new ConfigError(
      `QUEUE_PREFIX="${prefix}" has no {hash tag}; REDIS_SHARDS=${shards} suffixes the tag per shard: use e.g. "{${prefix.replace(/[{}]/g, '') || 'llmconv'}}"`,
      'QUEUE_PREFIX',
    );
  const head = prefix.slice(0, tag.start + 1);
  const tail = prefix.slice(tag.end);
  return Array.from({ length: shards }, (_, k) => `${head}${tag.tag}-${k}${tail}`);
}

/** The shard (0 … shards-1) of `id`: the first 32 bits of its SHA-256, modulo `shards`. */
export function shardOf(id: string, shards: number): number {
  checkShards(shards);
  if (shards === 1) return 0;
  return createHash('sha256').update(id).digest().readUInt32BE(0) % shards;
}

/**
 * The first `limit` members of several shards' sorted-set `WITHSCORES` replies (member, score, …)
 * as one: by score (`asc` or `desc`), ties by member bytes the same way, as Redis orders one set.
 */
export function mergeScored(replies: string[][], order: 'asc' | 'desc', limit: number): string[] {
  const all: [string, number][] = [];
  for (const r of replies) for (let i = 0; i + 1 < r.length; i += 2) all.push([r[i]!, Number(r[i + 1])]);
  const sign = order === 'asc' ? 1 : -1;
  all.sort((a, b) => sign * (a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))));
  return all.slice(0, limit).map(([m]) => m);
}

/**
 * The shards of one deployment: QUEUE_PREFIX (the global tag) and REDIS_SHARDS prefixes. One shard
 * (the default) is QUEUE_PREFIX itself for everything, so keys are byte for byte today's.
 */
export class ShardSet {
  readonly prefixes: readonly string[];

  constructor(
    /** QUEUE_PREFIX: the fleet-wide state's tag (the cloud limiter, Ollama slot leases, model quirks, the events channel). */
    readonly global: string,
    count = 1,
  ) {
    this.prefixes = shardPrefixes(global, count);
  }

  /** A prefix (one shard) or a set as given. */
  static of(prefix: string | ShardSet): ShardSet {
    return typeof prefix === 'string' ? new ShardSet(prefix, 1) : prefix;
  }

  /** QUEUE_PREFIX and REDIS_SHARDS of a loaded config. */
  static fromConfig(config: { queuePrefix: string; redisShards?: number }): ShardSet {
    return new ShardSet(config.queuePrefix, config.redisShards ?? 1);
  }

  get count(): number {
    return this.prefixes.length;
  }

  /** Recent ids' shards: a step computes its conversation's keys many times (cleared when full). */
  private readonly memo = new Map<string, number>();

  /** The shard (0 … count-1) of `id`. */
  shardOf(id: string): number {
    if (this.prefixes.length === 1) return 0;
    let k = this.memo.get(id);
    if (k === undefined) {
      if (this.memo.size >= 10_000) this.memo.clear();
      k = shardOf(id, this.prefixes.length);
      this.memo.set(id, k);
    }
    return k;
  }

  /** The key prefix of `id`'s shard. */
  at(id: string): string {
    return this.prefixes[this.shardOf(id)]!;
  }

  /** The prefix of shard `k`. */
  prefix(k: number): string {
    const p = this.prefixes[k];
    if (p === undefined) throw new RangeError(`no shard ${k} of ${this.prefixes.length}`);
    return p;
  }

  /**
   * The first of `make(0)`, `make(1)`, … whose shard is `shard` (with one shard: `make(0)`). Each
   * attempt lands on the shard with probability 1/count, so a few tries on average; bounded.
   */
  newId(shard: number, make: (attempt: number) => string): string {
    const n = this.prefixes.length;
    if (n === 1) return make(0);
    for (let attempt = 0; attempt < 256 * n; attempt++) {
      const id = make(attempt);
      if (shardOf(id, n) === shard) return id;
    }
    throw new Error(`no id on shard ${shard} of ${n} after ${256 * n} attempts`);
  }

  /** A shard picked at random (a new conversation or run that shares nothing). */
  randomShard(): number {
    return this.prefixes.length === 1 ? 0 : Math.floor(Math.random() * this.prefixes.length);
  }
}
