/**
 * The commands a redis-server has served (INFO commandstats: each `cmdstat_<name>` line's
 * `calls=`, summed; redis.io, INFO, read 2026-12-04), for the benches that share a run's commands
 * out over a cluster's masters. The INFO that reads it counts too: one call per sample.
 */
import type { Redis } from 'ioredis';

/** Every command the server has served since its start (or CONFIG RESETSTAT). */
export async function redisCommandsServed(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}
