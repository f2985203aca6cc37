/**
 * A finished conversation's judgement in Redis: one hash per conversation,
 *   <prefix>:conv:{<id>}:judge   status (scored | unscored), scores (JSON), model, attempts, error, at
 * kept as long as the conversation (the TTL of its record). Written once per judge run; a re-run
 * of the judge job overwrites it with the same kind of result.
 */
import type { Redis } from 'ioredis';

export interface Judgement {
  status: 'scored' | 'unscored';
  /** Score per criterion (scored only). */
  scores?: Record<string, number>;
  model: string;
  /** Judge calls made. */
  attempts: number;
  /** Why it is unscored. */
  error?: string;
  at: number;
}

export const judgeKey = (prefix: string, conversationId: string): string => `${prefix}:conv:{${conversationId}}:judge`;

export class JudgeStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** Stores the judgement; it expires with the conversation (`ttlSeconds`, at least 1). */
  async save(conversationId: string, j: Judgement, ttlSeconds: number): Promise<void> {
    const key = judgeKey(this.prefix, conversationId);
    const fields: Record<string, string> = { status: j.status, model: j.model, attempts: String(j.attempts), at: String(j.at) };
    if (j.scores) fields.scores = JSON.stringify(j.scores);
    if (j.error) fields.error = j.error;
    await this.redis.del(key);
    await this.redis.hset(key, fields);
    await this.redis.expire(key, Math.max(1, Math.ceil(ttlSeconds)));
  }

  /** The judgement, or null when the conversation was not judged (yet). */
  async get(conversationId: string): Promise<Judgement | null> {
    const h = await this.redis.hgetall(judgeKey(this.prefix, conversationId));
    if (!h.status) return null;
    return {
      status: h.status as Judgement['status'], model: h.model ?? '', attempts: Number(h.attempts ?? 0), at: Number(h.at ?? 0),
      ...(h.scores ? { scores: JSON.parse(h.scores) as Record<string, number> } : {}), ...(h.error ? { error: h.error } : {}),
    };
  }
}
