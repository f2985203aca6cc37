/**
 * redis-server's own CPU time (INFO cpu: `used_cpu_user` + `used_cpu_sys`, seconds with microsecond
 * digits; redis.io, INFO, read 2026-12-04), for the benches that charge Redis's work per turn or
 * per request.
 */
import type { Redis } from 'ioredis';

/** redis-server's CPU time so far, user and system apart, ms. */
export async function redisCpuTimes(admin: Redis): Promise<{ userMs: number; sysMs: number }> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { userMs: field('used_cpu_user') * 1000, sysMs: field('used_cpu_sys') * 1000 };
}

/** redis-server's CPU time so far (user+system), ms. */
export async function redisCpuMs(admin: Redis): Promise<number> {
  const { userMs, sysMs } = await redisCpuTimes(admin);
  return userMs + sysMs;
}
