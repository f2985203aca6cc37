/**
 * The Bedrock emulator's prompt cache: Converse `cachePoint` blocks as Bedrock treats them
 * (the Bedrock user guide's prompt-caching page, docs.aws.amazon.com/bedrock/latest/userguide/
 * prompt-caching.html, read 2026-12-03; the SDK's CachePointBlock and TokenUsage, 3.1163):
 *
 * - a checkpoint caches the whole prefix before it (system, then messages, in order); a later
 *   request whose prefix up to one of its checkpoints is the same reads it
 *   (`cacheReadInputTokens`), the rest up to its last checkpoint is written
 *   (`cacheWriteInputTokens`), and `inputTokens` counts only what is neither;
 * - a checkpoint whose prefix is below the model's minimum (catalogue `caching`) is ignored, no
 *   error ("If below minimum, caching silently disabled", as third-party guides report);
 * - an entry lives for its TTL (`5m`, or `ttl: "1h"` where the model takes it) and a hit restarts it;
 * - a model the catalogue does not mark as cache-capable caches nothing (what real Bedrock answers
 *   for it was not read: the emulator ignores the blocks);
 * - more checkpoints than the model allows: ValidationException "A maximum of 4 blocks with
 *   cache_control may be provided. Found 5." (Anthropic's message, which Bedrock passes on, as
 *   reported in public issues, 2024-2026); a `cachePoint` whose `type` is not `default`: the
 *   AWS JSON enum error, as for a role.
 */
import { createHash } from 'node:crypto';
import type { CacheRules } from '../shared/model-catalog';
import { countTokens } from './emulated-text';

/** Thrown for a malformed or excess checkpoint; the emulator answers it as a ValidationException. */
export class CachePointError extends Error {}

export const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

interface Block {
  text?: unknown;
  cachePoint?: unknown;
}

export interface CacheUsage {
  /** Input tokens neither read from nor written to the cache. */
  inputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
}

interface Checkpoint {
  key: string;
  tokens: number;
  ttlMs: number;
}

function checkpointOf(cp: unknown, where: string): { ttl: '5m' | '1h' | undefined } {
  const c = cp as { type?: unknown; ttl?: unknown } | null;
  if (!c || typeof c !== 'object' || c.type !== 'default') {
    throw new CachePointError(
      `1 validation error detected: Value '${String(c && typeof c === 'object' ? c.type : c)}' at '${where}.cachePoint.type' failed to satisfy constraint: Member must satisfy enum value set: [default]`,
    );
  }
  if (c.ttl !== undefined && c.ttl !== '5m' && c.ttl !== '1h') {
    throw new CachePointError(
      `1 validation error detected: Value '${String(c.ttl)}' at '${where}.cachePoint.ttl' failed to satisfy constraint: Member must satisfy enum value set: [5m, 1h]`,
    );
  }
  return { ttl: c.ttl as '5m' | '1h' | undefined };
}

/** One emulator's cache: entries per model and prefix, with their expiry. */
export class EmulatedPromptCache {
  private readonly entries = new Map<string, { tokens: number; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Drops every entry (tests). */
  clear(): void {
    this.entries.clear();
  }

  /**
   * The usage of one Converse request: reads what an earlier request wrote, writes up to its last
   * honoured checkpoint. Throws {@link CachePointError} for a malformed or excess checkpoint.
   */
  use(model: string, rules: CacheRules | undefined, system: unknown, messages: { content: unknown }[]): CacheUsage {
    const hash = createHash('sha256').update(model);
    let tokens = 0;
    let count = 0;
    const checkpoints: Checkpoint[] = [];
    const walk = (blocks: unknown, where: string) => {
      if (!Array.isArray(blocks)) return;
      blocks.forEach((b: Block, j) => {
        if (b && typeof b === 'object' && 'cachePoint' in b) {
          const { ttl } = checkpointOf(b.cachePoint, `${where}.${j + 1}.member`);
          count++;
          if (rules && tokens >= rules.minTokensPerCheckpoint && (ttl === undefined || rules.ttls.includes(ttl)))
            checkpoints.push({ key: hash.copy().digest('hex'), tokens, ttlMs: TTL_MS[ttl ?? '5m'] });
          return;
        }
        if (b && typeof b === 'object' && typeof b.text === 'string') {
          hash.update(`\u0000${b.text}`);
          tokens += countTokens(b.text);
        }
      });
    };
    walk(system, 'system');
    messages.forEach((m, i) => {
      hash.update(`\u0001${i}`);
      walk(m?.content, `messages.${i + 1}.member.content`);
    });
    const max = rules?.maxCheckpoints ?? 4;
    if (count > max) throw new CachePointError(`A maximum of ${max} blocks with cache_control may be provided. Found ${count}.`);
    const now = this.now();
    let read = 0;
    for (const cp of checkpoints) {
      const e = this.entries.get(cp.key);
      if (e && e.expiresAt > now) {
        read = Math.max(read, cp.tokens);
        e.expiresAt = now + cp.ttlMs; // a hit restarts the TTL
      }
    }
    const last = checkpoints.at(-1);
    let write = 0;
    if (last && last.tokens > read) {
      write = last.tokens - read;
      for (const cp of checkpoints) if (cp.tokens > read) this.entries.set(cp.key, { tokens: cp.tokens, expiresAt: now + cp.ttlMs });
    }
    return { inputTokens: tokens - read - write, cacheReadInputTokens: read, cacheWriteInputTokens: write };
  }
}
