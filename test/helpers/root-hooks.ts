/**
 * Root hooks for the whole mocha run: one private redis-server (AOF, noeviction) on a free port,
 * shared by all tests; each test isolates itself with its own queue prefix (see `uniquePrefix`).
 * Tests that kill Redis start their own with `startEmbeddedRedis()`. A run of unit tests only
 * (`npm run test:unit`, every file under test/unit/) starts none: a unit test needs no Redis.
 */
import { startEmbeddedRedis, type EmbeddedRedis } from '../../shared/embedded-redis';

let redis: EmbeddedRedis | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(20_000);
    const root = this.test?.parent;
    const files = [...(root?.suites ?? []), ...(root?.tests ?? [])].map((r) => r.file ?? '');
    if (files.length > 0 && files.every((f) => /[\\/]test[\\/]unit[\\/]/.test(f))) return;
    redis = await startEmbeddedRedis();
    process.env.TEST_REDIS_URL = redis.url;
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    await redis?.stop();
  },
};
