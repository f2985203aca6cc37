/**
 * A finished conversation's judgement in Redis: one hash per conversation,
 *   <prefix>:conv:{<id>}:judge   status (scored | unscored), scores (JSON), model, attempts, error, at
 * kept as long as the conversation (the TTL of its record). Written once per judge run; a re-run
 * of the judge job overwrites it with the same kind of result. With REDIS_SHARDS, on its
 * conversation's shard (where the conversation's run is too).
 */
import type { Redis } from 'ioredis';
import { ShardSet } from '../shared/redis-shards';
import type { JudgeStore as JudgeStoreInterface, Judgement, RunJudgeSummary } from './interfaces/judge-store';
import { loadScript } from './redis-script';

export type { Judgement, RunJudgeSummary } from './interfaces/judge-store';
import { runKeys } from './run-keys';
import type { ArchiveStore } from './interfaces/archive-store';

/** Stores a judgement, counting a run's conversation's first one in the run (store/lua/judge/save.lua). */
const SAVE = loadScript('judge/save', 2);

/** The judge summary of a run from its hash's `j:`, `js:` and `jsum:` fields; null when nothing was judged. */
export function runJudgeSummary(h: Record<string, string>): RunJudgeSummary | null {
  const scored = Number(h['j:scored'] ?? 0);
  const unscored = Number(h['j:unscored'] ?? 0);
  if (scored + unscored === 0) return null;
  const criteria: RunJudgeSummary['criteria'] = {};
  for (const [f, v] of Object.entries(h)) {
    const m = /^js:(.+):([^:]+)$/.exec(f);
    if (!m) continue;
    const c = (criteria[m[1]!] ??= { mean: 0, distribution: {} });
    c.distribution[m[2]!] = Number(v);
  }
  for (const [name, c] of Object.entries(criteria)) c.mean = scored ? Math.round((Number(h[`jsum:${name}`] ?? 0) / scored) * 100) / 100 : 0;
  return { scored, unscored, criteria };
}

export const judgeKey = (prefix: string, conversationId: string): string => `${prefix}:conv:{${conversationId}}:judge`;

export class JudgeStore implements JudgeStoreInterface {
  private readonly shards: ShardSet;

  constructor(
    private readonly redis: Redis,
    prefix: string | ShardSet,
    /** Where a judgement is read once its conversation left Redis (archived; absent: none). */
    private readonly archive?: Pick<ArchiveStore, 'get'>,
  ) {
    this.shards = ShardSet.of(prefix);
  }

  /** The judgement's key (it follows its conversation out of Redis once archived: ending/archive-finished.ts). */
  keyOf(conversationId: string): string {
    return judgeKey(this.shards.at(conversationId), conversationId);
  }

  /**
   * Stores the judgement; it expires with the conversation (`ttlSeconds`, at least 1). With
   * `runId`, the conversation's first judgement also counts in the run's summary.
   */
  async save(conversationId: string, j: Judgement, ttlSeconds: number, runId?: string): Promise<void> {
    const key = judgeKey(this.shards.at(conversationId), conversationId);
    const fields: Record<string, string> = { status: j.status, model: j.model, attempts: String(j.attempts), at: String(j.at) };
    if (j.scores) fields.scores = JSON.stringify(j.scores);
    if (j.error) fields.error = j.error;
    // Without a run the second key is the judgement's own (same slot, never written as a run hash).
    const runHash = runId ? runKeys(this.shards.at(conversationId), runId).run : key;
    await SAVE.run(this.redis, [key, runHash], [Math.max(1, Math.ceil(ttlSeconds)), runId ? '1' : '0', ...Object.entries(fields).flat()]);
  }

  /** The judgement, or null when the conversation was not judged (yet). */
  async get(conversationId: string): Promise<Judgement | null> {
    const h = await this.redis.hgetall(judgeKey(this.shards.at(conversationId), conversationId));
    if (!h.status) return (await this.archive?.get(conversationId))?.judgement ?? null;
    return {
      status: h.status as Judgement['status'],
      model: h.model ?? '',
      attempts: Number(h.attempts ?? 0),
      at: Number(h.at ?? 0),
      ...(h.scores ? { scores: JSON.parse(h.scores) as Record<string, number> } : {}),
      ...(h.error ? { error: h.error } : {}),
    };
  }
}
