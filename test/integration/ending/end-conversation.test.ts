/**
 * A conversation's end, once (ending/end-conversation.ts), against a real Redis and BullMQ: causes
 * racing on one conversation (a normal stop, cancels, a failure; a cancel against the completion
 * the transcript step makes) move it once, queue one transcript and one judge job, free its run
 * slot once and refill it once, even when the transcript job runs twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { isTerminal, type ConversationEvent } from '../../../conversation/model';
import { ConversationEnding, type EndOutcome } from '../../../ending/end-conversation';
import { unconfiguredProvider } from '../../../providers/create-providers';
import { jobIds, type TranscriptJobData, type TranscriptResult } from '../../../queue/job-types';
import { PipelineQueues } from '../../../queue/pipeline-queues';
import { RunAdmission } from '../../../runs/run-admission';
import { loadConfig, type Config } from '../../../shared/config';
import { createLogger } from '../../../shared/logger';
import { ConversationStore } from '../../../store/conversation-store';
import { CancelRegistry } from '../../../coordination/cancel-registry';
import type { PipelineDeps } from '../../../workers/step-lifecycle';
import { createTranscriptProcessor } from '../../../workers/transcript-step';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';

describe('a conversation ends once (real Redis and BullMQ)', () => {
  let dir: string;
  let redis: Redis;
  let sub: Redis;
  let config: Config;
  let store: ConversationStore;
  let queues: PipelineQueues;
  let admission: RunAdmission;
  let events: ConversationEvent[];
  let terminals: string[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-ending-'));
    const rubric = path.join(dir, 'rubric.json');
    fs.writeFileSync(
      rubric,
      JSON.stringify({
        criteria: [{ name: 'helpfulness', description: 'Do the answers help?' }],
        scale: { min: 1, max: 5 },
        prompt: '{{criteria}}\n{{transcript}}',
      }),
    );
    config = loadConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('end'),
      OUTPUT_DIR: path.join(dir, 'out'),
      JUDGE_RUBRIC_FILE: rubric,
      LOG_LEVEL: 'silent',
    });
    redis = new Redis(testRedisUrl());
    sub = redis.duplicate();
    store = ConversationStore.fromConfig(redis, config);
    queues = PipelineQueues.fromConfig(redis, config);
    admission = new RunAdmission({ config, store, queues });
    events = [];
    terminals = [];
    await sub.subscribe(store.eventsChannel);
    sub.on('message', (_c, m) => events.push(JSON.parse(m) as ConversationEvent));
  });
  afterEach(async () => {
    await queues.close();
    await sub.quit();
    await redis.quit();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const deps = (): PipelineDeps => ({
    config,
    store,
    queues,
    cloud: unconfiguredProvider('cloud'),
    local: unconfiguredProvider('local'),
    cancels: new CancelRegistry(),
    logger: createLogger({ level: 'silent' }),
    hooks: { onTerminal: (status, reason) => terminals.push(`${status}/${reason}`) },
  });

  /** A run of `seeds` seeds admitted `maxActive` at a time, each admitted one with a cloud answer (so it is judged). */
  async function startRun(maxActive: number, seeds: number): Promise<string[]> {
    await admission.runs.create('r1', 'race', maxActive, 10);
    const waiting: [string, string][] = Array.from({ length: seeds }, (_, i) => [
      `00000000-0000-4000-8000-00000000e00${i}`,
      JSON.stringify({ r: { initialQuery: `q${i}`, maxTurns: 3 }, h: `h${i}` }),
    ]);
    await admission.runs.addSeeds('r1', waiting);
    assert.equal(await admission.fill('r1'), maxActive);
    const ids = waiting.slice(0, maxActive).map(([id]) => id);
    for (const id of ids) {
      const record = (await store.get(id))!;
      await store.markRunning(id);
      await store.recordStep(record, 'cloud', 1, {
        question: 'q',
        answer: 'a',
        model: 'm',
        inputTokens: 1,
        outputTokens: 1,
        latencyMs: 1,
        stopReason: 'end_turn',
        startedAt: Date.now(),
        at: Date.now(),
      });
    }
    return ids;
  }

  const terminalEvents = (id: string) => events.filter((e) => e.conversationId === id && e.type === 'status' && isTerminal(e.status));
  const settle = () => new Promise((r) => setTimeout(r, 100));

  async function runTranscript(id: string): Promise<TranscriptResult> {
    const job = (await queues.transcript.getJob(jobIds.transcript(id))) as Job<TranscriptJobData, TranscriptResult, 'transcript'>;
    assert.ok(job, `the transcript job of ${id} is queued`);
    return createTranscriptProcessor(deps())(job);
  }

  it('racing causes move a conversation once, queue one transcript and one judge job, and free and refill its run slot once', async () => {
    const [a, b] = await startRun(2, 4);
    const ending = new ConversationEnding(deps());

    // A: a normal stop, two cancels and a failure at once, before any transcript.
    const outcomes: EndOutcome[] = await Promise.all([
      ending.end(a!, { cause: 'stopped', reason: 'max_turns' }),
      ending.end(a!, { cause: 'cancelled', error: 'cancelled by request' }),
      ending.end(a!, { cause: 'failed', reason: 'provider_error', error: 'boom' }),
      ending.end(a!, { cause: 'cancelled', error: 'run cancelled' }),
    ]);
    assert.deepEqual(outcomes.filter((o) => o !== 'pending').sort(), ['already', 'already', 'ended'], 'one transition among the three');
    assert.equal((await admission.runs.get('r1'))!.active, 1, "A's slot freed once");

    // B: a normal stop, then a cancel racing the completion the transcript step makes.
    assert.equal(await ending.end(b!, { cause: 'stopped', reason: 'stop_phrase' }), 'pending');
    const [, cancelled] = await Promise.all([runTranscript(b!), ending.end(b!, { cause: 'cancelled', error: 'cancelled by request' })]);
    assert.ok(cancelled === 'ended' || cancelled === 'already');
    // Each transcript job runs twice (a redelivery): nothing more happens.
    await runTranscript(a!);
    await runTranscript(a!);
    await runTranscript(b!);
    await settle();

    for (const id of [a!, b!]) {
      assert.equal(terminalEvents(id).length, 1, `one transition of ${id}`);
      assert.ok((await store.get(id))!.transcriptPath, `the transcript of ${id}`);
      assert.ok(await queues.judge.getJob(jobIds.judge(id)), `the judge job of ${id}`);
    }
    const statusB = (await store.get(b!))!.status;
    assert.ok(statusB === 'completed' || statusB === 'cancelled', statusB);
    assert.equal(terminals.length, 2, `one metric per conversation: ${terminals.join(', ')}`);
    assert.equal(await queues.transcript.count(), 2, 'one transcript job each');
    assert.equal(await queues.judge.count(), 2, 'one judge job each');
    const run = (await admission.runs.get('r1'))!;
    assert.equal(
      Object.values(run.byStatus).reduce((x, y) => x + y, 0),
      2,
      'each counted once in the run',
    );
    assert.equal(run.admitted, 4, 'each freed slot refilled once');
    assert.equal(run.active, 2);
    assert.equal(run.waiting, 0);
  });

  it('a stop alone completes once its transcript is written, with the transcript, then refills and queues the judge', async () => {
    const [a] = await startRun(1, 2);
    const ending = new ConversationEnding(deps());
    assert.equal(await ending.end(a!, { cause: 'stopped', reason: 'budget_exhausted', note: 'run budget spent' }), 'pending');
    await settle();
    assert.equal((await store.get(a!))!.status, 'running', 'not completed before its transcript');
    assert.equal((await admission.runs.get('r1'))!.admitted, 1, 'no refill before the transcript');
    await runTranscript(a!);
    await settle();
    const rec = (await store.get(a!))!;
    assert.equal(rec.status, 'completed');
    assert.equal(rec.stopReason, 'budget_exhausted');
    assert.equal(rec.error, 'run budget spent');
    assert.ok(rec.transcriptPath);
    assert.deepEqual(terminals, ['completed/budget_exhausted']);
    assert.equal((await admission.runs.get('r1'))!.admitted, 2);
    assert.ok(await queues.judge.getJob(jobIds.judge(a!)));
  });
});
