/**
 * Root hooks for the whole mocha run: one private redis-server (AOF, noeviction) on a free port,
 * shared by all tests; each test isolates itself with its own queue prefix (see `uniquePrefix`).
 * Tests that kill Redis start their own with `startEmbeddedRedis()`.
 */
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';

let redis: EmbeddedRedis | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(20_000);
    redis = await startEmbeddedRedis();
    process.env.TEST_REDIS_URL = redis.url;
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    await redis?.stop();
  },
};
