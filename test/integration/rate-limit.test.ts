/**
 * Bedrock throttling back-off: a 429 from the cloud path pauses the cloud queue for every worker
 * (BullMQ's Redis limiter key, honoured by workers that never saw the 429), puts the job back
 * without using an attempt, and the conversations still complete.
 */
import assert from 'node:assert/strict';
import IORedis, { type Redis } from 'ioredis';
import { createLogger } from '../../shared/logger';
import { jobIds } from '../../queue/job-types';
import { createWorkerConnection, waitReady } from '../../shared/redis-connection';
import { CancelRegistry } from '../../coordination/cancel-registry';
import { createGatewayBackend, createOllamaBackend } from '../../providers/create-providers';
import { startWorkerHost, type WorkerHost } from '../../workers/worker-host';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';

const BACKOFF_MS = 1500;

/** A cloud-only worker host on the stack's Redis and prefix, as a second machine would run it. */
async function startCloudHost(stack: TestStack, name: string): Promise<{ host: WorkerHost; close(): Promise<void> }> {
  const conn: Redis = createWorkerConnection(stack.redisUrl);
  await waitReady(conn);
  const cancels = new CancelRegistry();
  await cancels.listen(conn.duplicate(), stack.store.eventsChannel);
  const host = await startWorkerHost({
    deps: {
      config: stack.config,
      store: stack.store,
      queues: stack.queues,
      cloud: createGatewayBackend(stack.config, stack.gatewayUrl),
      local: createOllamaBackend(stack.config),
      cancels,
      logger: createLogger({ level: 'silent' }),
    },
    connection: conn,
    roles: ['cloud'],
    name,
  });
  return {
    host,
    async close() {
      await host.close();
      await cancels.close();
      await conn.quit();
    },
  };
}

describe('cloud throttling back-off (BullMQ rateLimit across workers)', function () {
  this.timeout(60_000);

  describe('with CLOUD_THROTTLE_BACKOFF_MS set', () => {
    let stack: TestStack;
    let redis: Redis;
    const hosts: { close(): Promise<void> }[] = [];

    before(async () => {
      // The stack runs the local and transcript roles; the cloud role runs on two separate
      // "hosts" (own connections, own BullMQ Workers), so the pause must travel through Redis.
      stack = await startTestStack(
        { CLOUD_THROTTLE_BACKOFF_MS: String(BACKOFF_MS), JOB_ATTEMPTS: '2', CLOUD_CONCURRENCY: '4' },
        { roles: ['local', 'transcript'] },
      );
      hosts.push(await startCloudHost(stack, 'host-a'), await startCloudHost(stack, 'host-b'));
      redis = new IORedis(stack.redisUrl);
    });
    after(async () => {
      await redis?.quit();
      for (const h of hosts) await h.close();
      await stack?.close();
    });

    it('a 429 pauses the cloud queue on every worker, uses no attempt, and the conversations complete', async () => {
      // Every Bedrock call is throttled until the test lifts it, after at least two pauses: with
      // JOB_ATTEMPTS=2 a job throttled twice would have failed if a throttle used an attempt.
      stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 429 }] });
      const limiterKey = stack.queues.cloud.keys.limiter!;
      // The limiter key also counts jobs per window; a rateLimit() pause sets it far beyond any max.
      const paused = async () => Number(await redis.get(limiterKey)) >= Number.MAX_SAFE_INTEGER && (await redis.pttl(limiterKey)) > 0;

      const a = await stack.http.post('/conversation', { initialQuery: 'First question', maxTurns: 2 });
      assert.equal(a.status, 202);
      const idA = a.data.conversationId as string;
      await until(paused, 10_000, 'the cloud queue to be rate-limited');
      const pausedAt = Date.now();
      const callsAtPause = stack.bedrock!.stats().calls;
      assert.ok(stack.bedrock!.stats().faultsByStatus['429']! >= 1);

      // A new conversation during the pause: two idle cloud workers with free slots, yet its
      // cloud job must stay waiting until the pause ends.
      const b = await stack.http.post('/conversation', { initialQuery: 'Second question', maxTurns: 2 });
      const idB = b.data.conversationId as string;
      await new Promise((r) => setTimeout(r, BACKOFF_MS / 3));
      assert.ok(Date.now() - pausedAt < BACKOFF_MS - 100, 'the machine is too slow to observe the pause');
      assert.equal(stack.bedrock!.stats().calls, callsAtPause, 'no Bedrock call during the pause');
      assert.equal(await stack.queues.cloud.getJobState(jobIds.cloud(idB, 1)), 'waiting');
      assert.equal(await stack.queues.cloud.getJobState(jobIds.cloud(idA, 1)), 'waiting');

      // The pause ends, the jobs run, are throttled again and the queue pauses again.
      await until(async () => stack.bedrock!.stats().calls > callsAtPause && (await paused()), 10_000, 'a second pause');
      const jobA = await stack.queues.cloud.getJob(jobIds.cloud(idA, 1));
      assert.equal(jobA!.attemptsMade, 0, 'throttled runs are not counted as attempts');
      stack.bedrock!.faults.set({ faults: [] });

      const [viewA, viewB] = await Promise.all([waitForConversation(stack, idA, 30_000), waitForConversation(stack, idB, 30_000)]);
      for (const view of [viewA, viewB]) {
        assert.equal(view.status, 'completed', JSON.stringify(view.error ?? view));
        assert.equal(view.turnsCompleted, 2);
      }
      // B's first cloud answer was only asked for once the first pause had run out.
      const stepB = (await stack.store.getConversation(idB))!.turns[0]!.cloud;
      assert.ok(
        stepB!.startedAt - pausedAt >= BACKOFF_MS - 250,
        `B's cloud call started ${stepB!.startedAt - pausedAt} ms after the pause began`,
      );
    });
  });

  describe('with CLOUD_THROTTLE_BACKOFF_MS=0', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ CLOUD_THROTTLE_BACKOFF_MS: '0', JOB_ATTEMPTS: '2' });
    });
    after(async () => {
      await stack?.close();
    });

    it('a 429 is an ordinary retryable error: throttled attempts run out and fail the conversation', async () => {
      stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 429 }] });
      const res = await stack.http.post('/conversation', { initialQuery: 'Throttled', maxTurns: 2 });
      const view = await waitForConversation(stack, res.data.conversationId, 20_000);
      assert.equal(view.status, 'failed');
      assert.equal(view.stopReason, 'retries_exhausted');
      assert.match(view.error, /429/);
      const redis = new IORedis(stack.redisUrl);
      try {
        assert.notEqual(await redis.get(stack.queues.cloud.keys.limiter!), String(Number.MAX_SAFE_INTEGER), 'no pause was set');
      } finally {
        await redis.quit();
      }
    });
  });
});
