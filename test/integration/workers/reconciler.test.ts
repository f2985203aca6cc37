import assert from 'node:assert/strict';
import { UnrecoverableError, Worker } from 'bullmq';
import { jobIds, QUEUE_NAMES } from '../../../queue/job-types';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

describe('reconciler (real Redis and BullMQ)', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    // Only the transcript role runs, so turn jobs stay where the test puts them.
    stack = await startTestStack({ RECONCILE_INTERVAL_MS: '0' }, { roles: ['transcript'] });
  });
  after(async () => {
    await stack?.close();
  });

  const settings = {
    initialQuery: 'q',
    outputFile: 'r.csv',
    maxTurns: 2,
    timeoutMinutes: 5,
    cloudModel: 'm',
    localModel: 'l',
    contextTurns: 0,
    templates: { followUp: '{{answer}}', nextQuery: '{{followUp}}' },
    systemPrompts: {},
  };

  it('a job that failed for good with nobody to record it fails its conversation on the next sweep', async () => {
    const id = '00000000-0000-4000-8000-00000000f001';
    await stack.store.create(id, settings);
    await stack.queues.enqueueCloud(id, 1);
    // A bare worker that dies on the job without touching the store: the gap the sweep closes.
    const bare = new Worker(
      QUEUE_NAMES.cloud,
      async () => {
        throw new UnrecoverableError('host lost mid-failure');
      },
      {
        connection: { url: stack.redisUrl } as never,
        prefix: stack.queues.of(id).prefix,
      },
    );
    await until(async () => (await stack.queues.of(id).cloud.getJobState(jobIds.cloud(id, 1))) === 'failed', 5000, 'the job to fail');
    await bare.close();
    assert.equal((await stack.store.get(id))!.status, 'queued');

    const swept = await stack.workerHost!.reconciler.sweepOnce();
    assert.ok(swept.failedRecorded >= 1);
    const rec = (await stack.store.get(id))!;
    assert.equal(rec.status, 'failed');
    assert.match(rec.error!, /host lost mid-failure/);
    await until(async () => Boolean((await stack.store.get(id))!.transcriptPath), 5000, 'the partial transcript');
  });

  it('a conversation saved but never queued gets turn 1 queued again', async () => {
    const id = '00000000-0000-4000-8000-00000000f002';
    await stack.store.create(id, settings);
    assert.equal(await stack.queues.of(id).cloud.getJob(jobIds.cloud(id, 1)), undefined);
    // Inside the grace period nothing happens; the production sweep waits 30 s.
    const { startReconciler } = await import('../../../workers/reconciler');
    const r = startReconciler({
      deps: { store: stack.store, queues: stack.queues } as never,
      onFailedJob: async () => {},
      intervalMs: 0,
      queuedGraceMs: 0,
      logger: stack.logger,
    });
    const { requeued } = await r.sweepOnce();
    assert.ok(requeued >= 1);
    assert.ok(await stack.queues.of(id).cloud.getJob(jobIds.cloud(id, 1)), 'turn 1 queued');
    await r.sweepOnce();
    assert.equal((await stack.queues.of(id).cloud.getJobCounts('waiting')).waiting, 1, 'a second sweep adds nothing');
  });
});
