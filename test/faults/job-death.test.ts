/**
 * Fault 2: one job kills its worker every time it runs (here: the worker is SIGKILLed whenever it
 * holds that job). After MAX_STALLED_COUNT stalls BullMQ fails the job; the conversation must end
 * `failed` with reason `stalled` — visible in the API, with its (partial) transcript, and reported
 * through the terminal hook the metrics count — never silently lost.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { jobIds } from '../../queue/job-types';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';
import { checkCompleteTranscript, readCsv } from './fixtures/transcript-check';
import { WorkerFleet } from './fixtures/worker-fleet';

const MAX_STALLED = 2;
const HANG_MODEL = 'test.hangs-forever-v1';

describe('fault: the same job kills its worker again and again', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let fleet: WorkerFleet;

  before(async function () {
    this.timeout(60_000);
    stack = await startTestStack({}, { roles: [] });
    fleet = new WorkerFleet({
      REDIS_URL: stack.redisUrl,
      QUEUE_PREFIX: stack.config.queuePrefix,
      API_GATEWAY_URL: stack.gatewayUrl,
      OLLAMA_HOST: stack.ollama!.url,
      OUTPUT_DIR: stack.outputDir,
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      MAX_STALLED_COUNT: String(MAX_STALLED),
      BACKOFF_DELAY_MS: '50',
      LOG_LEVEL: 'warn',
    });
  });

  after(async function () {
    this.timeout(30_000);
    await fleet?.stopAll();
    await stack?.close();
  });

  it(`ends the conversation failed with reason "stalled" after ${MAX_STALLED} recoveries, and the pipeline goes on`, async () => {
    stack.bedrock!.faults.set({ faults: [{ kind: 'hang', model: HANG_MODEL }] });
    const res = await stack.http.post('/conversation', { initialQuery: 'This turn never finishes', maxTurns: 3, cloudModel: HANG_MODEL });
    assert.equal(res.status, 202);
    const id: string = res.data.conversationId;
    const jobId = jobIds.cloud(id, 1);

    // Kill the worker each time it holds the job, restart it, until BullMQ gives up on the job.
    let generation = 0;
    let pickups = 0;
    const started = Date.now();
    for (;;) {
      const w = await fleet.start(`poisoned-${++generation}`);
      const holds = () => w.held.has(jobId);
      const gaveUp = async () => (await stack.queues.cloud.getJobState(jobId)) === 'failed';
      await until(async () => holds() || (await gaveUp()), 20_000, `worker ${w.name} to take the job (or BullMQ to fail it)`);
      if (await gaveUp()) break;
      pickups += 1;
      await fleet.kill(w.name);
      assert.ok(fleet.kills.length <= MAX_STALLED + 1, 'BullMQ fails the job after MAX_STALLED_COUNT stalls');
    }

    const view = await waitForConversation(stack, id, 20_000);
    assert.equal(view.status, 'failed');
    assert.equal(view.stopReason, 'stalled');
    assert.match(view.error, /cloud step failed: job stalled more than allowable limit/);
    // The failure is counted in the worker's metrics (its conversations_finished_total series)
    // and the failed job shows in the producer's /metrics queue gauge.
    await until(() => fleet.of('terminal').length > 0, 5000, 'the terminal report');
    const terminal = fleet.of('terminal');
    assert.deepEqual(terminal.map((m) => [m.status, m.reason]), [['failed', 'stalled']]);
    assert.match(terminal[0]!.metric ?? '', /^llmconv_conversations_finished_total\{.*\} 1$/);
    const scrape = await stack.http.get('/metrics');
    assert.match(scrape.data, /llmconv_queue_jobs\{queue="cloud",state="failed"\} 1/);
    // Its transcript is written (header only: no turn finished) and served.
    assert.ok(fs.existsSync(view.transcriptFile));
    assert.equal(readCsv(view.transcriptFile).length, 0);
    const csv = await stack.http.get(`/conversation/${id}/transcript`);
    assert.equal(csv.status, 200);
    // The job stays in the failed set with the reason, for Bull Board and operators.
    const job = await stack.queues.cloud.getJob(jobId);
    assert.match(job!.failedReason, /stalled more than allowable limit/);
    assert.equal(await stack.queues.cloud.getActiveCount(), 0);

    // The same worker fleet goes on with other conversations.
    stack.bedrock!.faults.reset();
    const next = await stack.http.post('/conversation', { initialQuery: 'Still working?', maxTurns: 2 });
    const nextView = await waitForConversation(stack, next.data.conversationId, 20_000);
    assert.equal(nextView.status, 'completed');
    const rows = await checkCompleteTranscript(stack.store, stack.outputDir, next.data.conversationId, 2);

    const figures = {
      kills: fleet.kills.length, pickupsKilled: pickups, maxStalledCount: MAX_STALLED, stalledEvents: fleet.of('stalled').length,
      terminalReason: view.stopReason, workerMetric: terminal[0]!.metric, hangingCallsInjected: stack.bedrock!.stats().faultsByKind.hang ?? 0,
      followUpRowsChecked: rows, elapsedMs: Date.now() - started,
    };
    console.log(`      [figures] job-death ${JSON.stringify(figures)}`);
    assert.equal(fleet.kills.length, MAX_STALLED + 1, 'stalls beyond MAX_STALLED_COUNT fail the job');
  });
});
