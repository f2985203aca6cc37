/** Test access to the run's redis-server (started by root-hooks) and unique queue prefixes. */
import { randomBytes } from 'node:crypto';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run tests through mocha so root-hooks starts Redis');
  return url;
}

/** A fresh BullMQ prefix with a hash tag, so tests never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `{${label}-${randomBytes(4).toString('hex')}}`;
}
