/**
 * Fault: the transcript worker is killed with SIGKILL between a conversation's terminal
 * transition in Redis and its archive write, for 55 conversations at once. The archive is a real
 * PostgreSQL (a schema of its own); this test holds an EXCLUSIVE lock on the archive's table, so
 * every worker's write waits right after the transition (which put the conversation in
 * `<p>:unarchived`); then every worker process is killed, and their waiting INSERTs are ended on
 * the server (pg_terminate_backend of the dead workers' connections, picked by their
 * application_name), so no write of theirs ever lands. Workers started after that run no
 * transcript role: only the reconciler's sweep can archive. Each conversation must then be in the
 * archive exactly once (one row, the record Redis had), `<p>:unarchived` empty; a transcript
 * worker started last re-runs the stalled transcript jobs, and still one row each.
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import { isTerminal } from '../../conversation/model';
import { createTestSchema, type TestSchema } from '../helpers/postgres';
import { startTestStack, until, type TestStack } from '../helpers/test-stack';
import { WorkerFleet } from './fixtures/worker-fleet';

const CONVERSATIONS = 55;

describe('fault: transcript workers killed between the Redis transition and the archive write', function () {
  this.timeout(240_000);
  let schema: TestSchema;
  let stack: TestStack;
  let fleet: WorkerFleet;
  let archiveUrl: string;

  before(async function () {
    this.timeout(60_000);
    schema = await createTestSchema();
    archiveUrl = `${schema.url}&application_name=${schema.schema}`;
    // The stack (producer only) opens the archive too: its tables exist before the lock is taken.
    stack = await startTestStack({ ARCHIVE_URL: archiveUrl, EMULATOR_LATENCY_MS: '0' }, { roles: [] });
    fleet = new WorkerFleet({
      REDIS_URL: stack.redisUrl,
      QUEUE_PREFIX: stack.config.queuePrefix,
      API_GATEWAY_URL: stack.gatewayUrl,
      OLLAMA_HOST: stack.ollama!.url,
      OUTPUT_DIR: stack.outputDir,
      ARCHIVE_URL: archiveUrl,
      LOCK_DURATION_MS: '3000',
      STALLED_INTERVAL_MS: '1500',
      CLOUD_CONCURRENCY: '8',
      LOCAL_CONCURRENCY: '8',
      TRANSCRIPT_CONCURRENCY: '100',
      RECONCILE_INTERVAL_MS: '0',
      JOB_ATTEMPTS: '6',
      BACKOFF_DELAY_MS: '50',
      LOG_LEVEL: 'warn',
    });
  });

  after(async function () {
    this.timeout(30_000);
    await fleet?.stopAll();
    await stack?.close();
    await schema?.drop();
  });

  it(`${CONVERSATIONS} conversations: each archived exactly once by the reconciler, none lost`, async () => {
    const store = stack.store;
    const lock: pg.Client = await schema.client();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE archive_conversations IN EXCLUSIVE MODE');
    await Promise.all(['w1', 'w2'].map((n) => fleet.start(n)));

    const ids: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const res = await stack.http.post('/conversation', { initialQuery: `Archive crash question ${i}`, maxTurns: 1 });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    // Every conversation moved to its terminal state in Redis; every archive write waits on the lock.
    await until(async () => (await store.unarchivedCount()) === CONVERSATIONS, 120_000, 'every conversation finished in Redis');
    for (const id of ids) assert.ok(isTerminal((await store.get(id))!.status), id);
    const waiting = await lock.query(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [schema.schema],
    );
    assert.ok(Number(waiting.rows[0].n) > 0, 'the workers are waiting to write the archive');

    for (const name of ['w1', 'w2']) await fleet.kill(name);
    // Their INSERTs still wait on the server: end those connections, so nothing of theirs lands.
    await lock.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [
      schema.schema,
    ]);
    const none = await lock.query('SELECT count(*) AS n FROM archive_conversations');
    assert.equal(Number(none.rows[0].n), 0, 'no archive write landed before the crash');
    await lock.query('COMMIT');
    assert.equal(await store.unarchivedCount(), CONVERSATIONS, 'the crash left them all in <p>:unarchived');

    // No transcript role: the reconciler's sweep (every 500 ms, 10 s after the finish) is the only repair.
    await fleet.start('r1', { WORKER_ROLES: 'cloud', RECONCILE_INTERVAL_MS: '500' });
    await until(async () => (await store.unarchivedCount()) === 0, 90_000, 'the reconciler archived every conversation');

    const check = async () => {
      const rows = await lock.query('SELECT id, count(*) AS n FROM archive_conversations GROUP BY id');
      assert.equal(rows.rows.length, CONVERSATIONS, 'every conversation is archived');
      assert.ok(
        rows.rows.every((r) => Number(r.n) === 1),
        'each exactly once',
      );
      assert.deepEqual(rows.rows.map((r) => r.id).sort(), [...ids].sort());
      for (const id of ids) {
        const row = await lock.query('SELECT record, turns, status FROM archive_conversations WHERE id = $1', [id]);
        const live = await store.getConversation(id);
        assert.equal(row.rows[0].status, 'completed', id);
        assert.equal(row.rows[0].turns.length, 1, id);
        // The row is what Redis had at the archive's write (the record's keys now expire soon).
        if (live) assert.equal(JSON.stringify(row.rows[0].record.settings), JSON.stringify(live.record.settings), id);
      }
    };
    await check();

    // A transcript worker re-runs the stalled transcript jobs: the same rows again, never a second.
    await fleet.start('t1', { WORKER_ROLES: 'transcript' });
    await until(
      async () => {
        const counts = await stack.queues.transcript.getJobCounts('active', 'wait', 'delayed');
        return counts.active + counts.wait + counts.delayed === 0;
      },
      60_000,
      'the stalled transcript jobs ran again',
    );
    await check();
    assert.equal(await store.unarchivedCount(), 0);
  });
});
