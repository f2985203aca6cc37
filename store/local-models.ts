/**
 * Which Ollama models the fleet's local workers can run, shared through Redis so a conversation
 * naming a model no local worker has is refused at submission, before any cloud call is paid for.
 *
 * Every local worker publishes the models of its Ollama (`/api/tags`) into one sorted set,
 * `<prefix>:ollama-models`, each member scored with the time its report expires; it re-publishes
 * well within that time. A reader counts only unexpired members, so models of a worker that died
 * or of an Ollama that lost them drop out on their own. No report at all (no local worker up yet,
 * or workers of a release without this) means "unknown", and the conversation is let through: its
 * local step still fails permanently, naming `ollama pull`, if the model is missing.
 *
 * @example
 * const models = new LocalModelRegistry(redis, config.queuePrefix);
 * await models.publish(['llama3.2:latest'], 90_000);          // a local worker, every 30 s
 * (await models.lookup('llama3.2')).present                     // true
 */
import type { Redis } from 'ioredis';

/** Ollama treats `name` and `name:latest` as one model; a tag is what follows `:` in the last path part. */
export function normaliseModelName(name: string): string {
  const last = name.slice(name.lastIndexOf('/') + 1);
  return last.includes(':') ? name : `${name}:latest`;
}

/** What the fleet reported for one model. */
export interface ModelLookup {
  /** true / false when local workers reported; undefined when none did (unknown). */
  present: boolean | undefined;
  /** The models the local workers reported, sorted. */
  available: string[];
}

/** The user-facing message for a model no local worker has, with what to run. */
export function modelMissingMessage(model: string, available: string[]): string {
  const have = available.length ? available.join(', ') : 'none';
  return `no local worker's Ollama has model "${model}" (they have: ${have}); run \`ollama pull ${model}\` on the worker hosts, or name one of those models`;
}

export class LocalModelRegistry {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}:ollama-models`;
  }

  /** Reports `models` as present for `ttlMs` from now (one round trip). */
  async publish(models: string[], ttlMs: number): Promise<void> {
    const now = Date.now();
    const expires = now + ttlMs;
    const multi = this.redis.multi();
    if (models.length) multi.zadd(this.key, ...models.flatMap((m) => [expires, normaliseModelName(m)]));
    multi.zremrangebyscore(this.key, '-inf', now);
    multi.pexpire(this.key, ttlMs);
    await multi.exec();
  }

  /** Whether any live report names `model`. */
  async lookup(model: string): Promise<ModelLookup> {
    const available = (await this.redis.zrangebyscore(this.key, Date.now(), '+inf')).sort();
    if (available.length === 0) return { present: undefined, available };
    return { present: available.includes(normaliseModelName(model)), available };
  }
}
