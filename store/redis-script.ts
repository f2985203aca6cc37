/**
 * A Lua script run by its SHA1 (EVALSHA), loaded with EVAL the first time a server does not know
 * it (NOSCRIPT: a new or restarted server). Sending the body on every call, as plain EVAL does,
 * costs Redis a hash of the body per call and the network its bytes.
 *
 * Not `redis.defineCommand`: every command defined on a connection is copied into each
 * Pipeline/MULTI that connection builds, and BullMQ builds them on the same connections.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
