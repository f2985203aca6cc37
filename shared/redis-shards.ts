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
