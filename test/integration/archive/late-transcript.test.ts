/**
 * A transcript job that runs after its record left Redis (issue 25, part 4): the conversation is
 * finished, its transcript written and archived (a real SQLite archive), and Redis lets its keys
 * go after REDIS_RETENTION_SECONDS=1; the same transcript job then runs again (a redelivery, a
 * stalled job's second life). It reads the conversation from the archive and must not re-create
 * the record as a bare hash without expiry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import { ConversationEnding } from '../../../ending/end-conversation';
import { unconfiguredProvider } from '../../../providers/create-providers';
import { jobIds, type TranscriptJobData, type TranscriptResult } from '../../../queue/job-types';
import { PipelineQueues } from '../../../queue/pipeline-queues';
import { loadConfig, type Config } from '../../../shared/config';
import { createLogger } from '../../../shared/logger';
import { openArchive } from '../../../store/archive/open-archive';
import type { SqlArchive } from '../../../store/archive/sql-archive';
import { ConversationStore } from '../../../store/conversation-store';
import { CancelRegistry } from '../../../coordination/cancel-registry';
import type { PipelineDeps } from '../../../workers/step-lifecycle';
import { createTranscriptProcessor } from '../../../workers/transcript-step';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis';
import { until } from '../../helpers/test-stack';

describe('a transcript job after its record left Redis (real Redis, BullMQ, SQLite archive)', function () {
  this.timeout(30_000);
  let dir: string;
  let redis: Redis;
  let config: Config;
  let store: ConversationStore;
  let queues: PipelineQueues;
  let archive: SqlArchive;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-late-transcript-'));
    config = loadConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: uniquePrefix('late'),
      OUTPUT_DIR: path.join(dir, 'out'),
      ARCHIVE_URL: `sqlite:${path.join(dir, 'archive.sqlite')}`,
      REDIS_RETENTION_SECONDS: '1',
      LOG_LEVEL: 'silent',
    });
    redis = new Redis(testRedisUrl());
    store = ConversationStore.fromConfig(redis, config);
    archive = (await openArchive(config.archive!))!;
    store.useArchive(archive);
    queues = PipelineQueues.fromConfig(redis, config);
  });
  after(async () => {
    await queues?.close();
    await archive?.close();
    await redis?.quit();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the archive, writes nothing to Redis: no bare hash is left behind', async () => {
    const deps: PipelineDeps = {
      config,
      store,
      queues,
      archive,
      cloud: unconfiguredProvider('cloud'),
      local: unconfiguredProvider('local'),
      cancels: new CancelRegistry(),
      logger: createLogger({ level: 'silent' }),
    };
    const id = '00000000-0000-4000-8000-0000000a7e01';
    const { record } = await store.create(id, {
      initialQuery: 'What happens to a transcript job that comes late?',
      outputFile: `conversation-${id}.csv`,
      maxTurns: 1,
      timeoutMinutes: 30,
      cloudModel: 'amazon.nova-micro-v1:0',
      localModel: 'llama3.2',
      contextTurns: 1,
      templates: { ...DEFAULT_TEMPLATES },
      systemPrompts: {},
    });
    await store.markRunning(id);
    const now = Date.now();
    await store.recordStep(record!, 'cloud', 1, {
      question: 'q',
      answer: 'a',
      model: 'm',
      inputTokens: 1,
      outputTokens: 1,
      latencyMs: 1,
      stopReason: 'end_turn',
      startedAt: now,
      at: now,
    });
    assert.equal(await new ConversationEnding(deps).end(id, { cause: 'cancelled', error: 'cancelled by request' }), 'ended');
    const job = (await queues.transcript.getJob(jobIds.transcript(id))) as Job<TranscriptJobData, TranscriptResult, 'transcript'>;
    assert.ok(job, 'the transcript job is queued');
    const process = createTranscriptProcessor(deps);

    const file = await process(job);
    assert.equal(typeof file, 'string');
    assert.equal((await archive.get(id))?.record.transcriptPath, file, 'archived with its transcript');
    const [recordKey, turnsKey] = store.recordKeys(id);
    assert.ok((await redis.ttl(recordKey)) <= 1, 'REDIS_RETENTION_SECONDS after the archive write');
    await until(async () => (await redis.exists(recordKey, turnsKey)) === 0, 10_000, 'Redis to let the record go');

    // The same job again: the conversation is read from the archive and its transcript written again.
    assert.equal(await process(job), file);
    assert.equal(await redis.exists(recordKey), 0, 'no bare hash re-created by setTranscriptPath');
    assert.equal(await redis.exists(turnsKey), 0);
    assert.equal(await store.unarchivedCount(), 0);
    const again = await store.getConversation(id);
    assert.equal(again?.record.status, 'cancelled', 'still answered from the archive');
    assert.equal(again?.record.transcriptPath, file);
    // And the store's own answer: false on a missing record.
    assert.equal(await store.setTranscriptPath(again!.record, path.join(dir, 'out', 'x.csv')), false);
    assert.equal(await redis.exists(recordKey), 0);
  });
});
