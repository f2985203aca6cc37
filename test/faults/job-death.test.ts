/**
 * Fault 2: one job kills its worker every time it runs (here: the worker is SIGKILLed whenever it
 * holds that job). After MAX_STALLED_COUNT stalls BullMQ fails the job; the conversation must end
 * `failed` with reason `stalled` — visible in the API, with its (partial) transcript, and reported
 * through the terminal hook the metrics count — never silently lost.
 *
 * When BullMQ fails a job for stalls (bullmq 6.7, read in node_modules):
 * `commands/moveStalledJobsToWait-9.lua` increments the job's `stc` (Job#stalledCounter) each time
 * a stall check finds it active without a lock, and once `stc > maxStalledCount` it sets `defa`
 * ("job stalled more than allowable limit", Job#deferredFailure) and STILL moves the job back to
 * `wait`. The next worker to take it emits 'active' and then, in `Worker#processJob`
 * (`classes/worker.js`, getUnrecoverableErrorMessage), fails it without running the processor.
 * So "held by a worker" does not mean "will run": killing that last pickup would be a kill BullMQ
 * never asked for (under load the 'active' report can arrive before the failure lands — the
 * flake this test once had). The test reads `deferredFailure` before each kill and counts from
 * what BullMQ recorded: stall events, `stalledCounter`, `attemptsStarted`, `failedReason`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { QueueEvents } from 'bullmq';
import { jobIds, QUEUE_NAMES } from '../../queue/job-types';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';
import { checkCompleteTranscript, readCsv } from './fixtures/transcript-check';
import { WorkerFleet } from './fixtures/worker-fleet';

const MAX_STALLED = 2;
const HANG_MODEL = 'test.hangs-forever-v1';

describe('fault: the same job kills its worker again and again', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let fleet: WorkerFleet;
  let watcher: QueueEvents;
  /** Every stall BullMQ reported on the cloud queue's event stream, whichever worker found it. */
  const stalls: string[] = [];

  before(async function () {
    this.timeout(60_000);
    stack = await startTestStack({}, { roles: [] });
    watcher = new QueueEvents(QUEUE_NAMES.cloud, { connection: { url: stack.redisUrl }, prefix: stack.config.queuePrefix });
    watcher.on('stalled', ({ jobId }) => stalls.push(jobId));
    watcher.on('error', () => undefined);
    await watcher.waitUntilReady();
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
    await watcher?.close();
    await stack?.close();
  });

  it(`ends the conversation failed with reason "stalled" after ${MAX_STALLED} recoveries, and the pipeline goes on`, async () => {
    stack.bedrock!.faults.set({ faults: [{ kind: 'hang', model: HANG_MODEL }] });
    const res = await stack.http.post('/conversation', { initialQuery: 'This turn never finishes', maxTurns: 3, cloudModel: HANG_MODEL });
    assert.equal(res.status, 202);
    const id: string = res.data.conversationId;
    const jobId = jobIds.cloud(id, 1);

    // Kill the worker each time it holds the job and would run it, restart it, until BullMQ gives
    // up on the job. A pickup of a job BullMQ already doomed (deferredFailure set) is left alone:
    // that worker fails it without running it.
    let generation = 0;
    let pickups = 0;
    let doomedPickups = 0;
    const started = Date.now();
    const gaveUp = async () => (await stack.queues.cloud.getJobState(jobId)) === 'failed';
    for (;;) {
      const w = await fleet.start(`poisoned-${++generation}`);
      const holds = () => w.held.has(jobId);
      await until(async () => holds() || (await gaveUp()), 30_000, `worker ${w.name} to take the job (or BullMQ to fail it)`);
      if (await gaveUp()) break;
      const job = await stack.queues.cloud.getJob(jobId);
      if (job?.deferredFailure) {
        doomedPickups += 1;
        await until(gaveUp, 30_000, `worker ${w.name} to fail the doomed job`);
        break;
      }
      pickups += 1;
      await fleet.kill(w.name);
      assert.ok(
        pickups <= MAX_STALLED + 1,
        `a job stalled ${MAX_STALLED + 1} times is doomed before it runs again (pickups killed: ${pickups})`,
      );
    }

    const view = await waitForConversation(stack, id, 20_000);
    assert.equal(view.status, 'failed');
    assert.equal(view.stopReason, 'stalled');
    assert.match(view.error, /cloud step failed: job stalled more than allowable limit/);
    // The failure is counted in the worker's metrics (its conversations_finished_total series)
    // and the failed job shows in the producer's /metrics queue gauge.
    await until(() => fleet.of('terminal').length > 0, 5000, 'the terminal report');
    const terminal = fleet.of('terminal');
    assert.deepEqual(
      terminal.map((m) => [m.status, m.reason]),
      [['failed', 'stalled']],
    );
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

    // What BullMQ recorded: one stall per lost lock, failure once stalls exceeded the maximum.
    await until(() => stalls.filter((s) => s === jobId).length >= job!.stalledCounter, 5000, 'the stall events');
    const stallEvents = stalls.filter((s) => s === jobId).length;
    const falseStalls = fleet.of('lock-lost').filter((m) => m.jobIds?.includes(jobId)).length;
    const figures = {
      kills: fleet.kills.length,
      pickupsKilled: pickups,
      doomedPickups,
      maxStalledCount: MAX_STALLED,
      stalledCounter: job!.stalledCounter,
      stallEvents,
      falseStalls,
      attemptsStarted: job!.attemptsStarted,
      terminalReason: view.stopReason,
      workerMetric: terminal[0]!.metric,
      hangingCallsInjected: stack.bedrock!.stats().faultsByKind.hang ?? 0,
      followUpRowsChecked: rows,
      elapsedMs: Date.now() - started,
    };
    console.log(`      [figures] job-death ${JSON.stringify(figures)}`);
    // moveStalledJobsToWait-9.lua fails a job once stc > maxStalledCount: the first stall past the max.
    assert.equal(job!.stalledCounter, MAX_STALLED + 1, 'BullMQ fails the job at its first stall past MAX_STALLED_COUNT');
    assert.equal(stallEvents, job!.stalledCounter, 'one stall event per counted stall');
    // Every counted stall was a kill of ours, or a live worker losing its lock under load.
    assert.equal(pickups + falseStalls, job!.stalledCounter, 'each stall is explained by a kill (or a reported lost lock)');
    assert.equal(fleet.kills.length, pickups, 'only workers holding a runnable copy of the job were killed');
    // Each pickup is one started attempt, the doomed one included if a worker took it.
    assert.ok(job!.attemptsStarted >= pickups, `attempts started (${job!.attemptsStarted}) cover the pickups`);
  });
});
