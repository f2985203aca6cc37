/**
 * The commands a redis-server has served (INFO commandstats: each `cmdstat_<name>` line's `calls=`
 * and `usec=`, the time spent inside the command; redis.io, INFO, read 2026-12-04), for the benches
 * that share a run's commands out over a cluster's masters and split its CPU into what the commands
 * took and the rest (the event loop, the sockets, replication). The INFO that reads it counts too:
 * one call per sample.
 */
import type { Redis } from 'ioredis';

/** Per command name: calls and µs inside it, since the server's start (or CONFIG RESETSTAT). */
export type CommandStats = Map<string, { calls: number; usec: number }>;

export async function redisCommandStats(admin: Redis): Promise<CommandStats> {
  const info = await admin.info('commandstats');
  const out: CommandStats = new Map();
  for (const m of info.matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

/** Every command the server has served since its start (or CONFIG RESETSTAT). */
export async function redisCommandsServed(admin: Redis): Promise<number> {
  return [...(await redisCommandStats(admin)).values()].reduce((sum, c) => sum + c.calls, 0);
}
