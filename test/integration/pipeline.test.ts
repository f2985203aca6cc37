import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { jobIds } from '../../queue/job-types';
import { CSV_COLUMNS } from '../../transcript/transcript-csv';
import { createCloudProcessor } from '../../workers/cloud-step';
import { CancelRegistry } from '../../coordination/cancel-registry';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';

function readCsv(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

describe('conversation pipeline (real Redis, emulators, gateway, workers, producer)', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });
  afterEach(() => {
    stack.bedrock!.faults.reset();
    stack.ollama!.faults.reset();
  });
  after(async () => {
    await stack?.close();
  });

  it("a 5-turn conversation gives exactly 5 rows in order with both sides' text", async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'What is the meaning of life?', maxTurns: 5 });
    assert.equal(res.status, 202);
    assert.match(res.data.conversationId, /^[0-9a-f-]{36}$/);
    assert.equal(res.data.statusUrl, `/conversation/${res.data.conversationId}`);
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed');
    assert.equal(view.stopReason, 'max_turns');
    assert.equal(view.turnsCompleted, 5);

    assert.equal(path.dirname(view.transcriptFile), stack.outputDir);
    const rows = readCsv(view.transcriptFile);
    assert.deepEqual(Object.keys(rows[0]!), [...CSV_COLUMNS]);
    assert.deepEqual(
      rows.map((r) => Number(r.turn)),
      [1, 2, 3, 4, 5],
    );
    assert.equal(rows[0]!.query, 'What is the meaning of life?');
    for (const [i, r] of rows.entries()) {
      assert.match(r.cloud_response!, /emulated bedrock/i);
      assert.match(r.ollama_response!, /emulated ollama/i);
      assert.match(r.timestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(r.conversation_id, view.conversationId);
      assert.equal(r.stop_reason, 'max_turns');
      assert.ok(Number(r.cloud_output_tokens) > 0);
      // Each next question is built from the previous follow-up (default template).
      if (i > 0) assert.equal(r.query, `Do you have any comments on: ${rows[i - 1]!.ollama_response}`);
    }
    // The transcript route renders the same rows from Redis.
    const csv = await stack.http.get(`/conversation/${view.conversationId}/transcript`);
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const served = parse(csv.data, { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      served.map((r) => r.cloud_response),
      rows.map((r) => r.cloud_response),
    );
  });

  it('a stop phrase ends the conversation early', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'Say something', maxTurns: 5, stopPhrase: 'EMULATED OLLAMA' });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed');
    assert.equal(view.stopReason, 'stop_phrase');
    assert.equal(readCsv(view.transcriptFile).length, 1);
  });

  it('a timeout gives timed_out and a partial CSV', async () => {
    stack.ollama!.faults.set({ latencyMs: 400 });
    const res = await stack.http.post('/conversation', { initialQuery: 'Slow one', maxTurns: 50, timeoutMinutes: 0.02 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'timed_out');
    assert.equal(view.stopReason, 'deadline_exceeded');
    const rows = readCsv(view.transcriptFile);
    assert.ok(rows.length >= 1 && rows.length < 50, `partial transcript, got ${rows.length} rows`);
    assert.ok(rows.every((r) => r.stop_reason === 'deadline_exceeded'));
  });

  it('cancel mid-turn aborts the in-flight call and ends cancelled with a partial transcript', async () => {
    stack.bedrock!.faults.set({ latencyMs: 10_000 });
    const res = await stack.http.post('/conversation', { initialQuery: 'Cancel me', maxTurns: 5 });
    const id = res.data.conversationId;
    await until(async () => (await stack.queues.cloud.getActiveCount()) === 1, 5000, 'the cloud call to start');
    const t0 = Date.now();
    const del = await stack.http.delete(`/conversation/${id}`);
    assert.equal(del.status, 200);
    assert.equal(del.data.status, 'cancelled');
    await until(async () => (await stack.queues.cloud.getActiveCount()) === 0, 3000, 'the aborted job to leave active');
    assert.ok(Date.now() - t0 < 3000, 'the 10 s call was aborted, not awaited');
    const view = await waitForConversation(stack, id);
    assert.equal(view.status, 'cancelled');
    assert.equal(view.stopReason, 'cancelled');
    assert.ok(fs.existsSync(view.transcriptFile));
    const again = await stack.http.delete(`/conversation/${id}`);
    assert.equal(again.status, 409);
  });

  it('an idempotent POST returns the same conversation', async () => {
    const body = { initialQuery: 'Once only', maxTurns: 1 };
    const headers = { 'Idempotency-Key': `k-${Date.now()}` };
    const a = await stack.http.post('/conversation', body, { headers });
    const b = await stack.http.post('/conversation', body, { headers });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.data.conversationId, a.data.conversationId);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    const c = await stack.http.post('/conversation', body);
    assert.notEqual(c.data.conversationId, a.data.conversationId);
  });

  it('a permanent Bedrock error fails the conversation at once with its message', async () => {
    const model = 'test.permanent-failure-v1';
    stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 400, model, message: 'The model id is not supported here.' }] });
    const res = await stack.http.post('/conversation', { initialQuery: 'Fail me', maxTurns: 3, cloudModel: model });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'failed');
    assert.equal(view.stopReason, 'provider_error');
    assert.match(view.error, /ValidationException/);
    assert.match(view.error, /The model id is not supported here/);
    assert.equal(stack.bedrock!.stats().byModel[model], 1, 'not retried');
  });

  it('transient errors on both sides are retried and the conversation completes', async () => {
    stack.bedrock!.faults.set({
      faults: [
        { kind: 'status', status: 503, count: 2 },
        { kind: 'status', status: 429, count: 1 },
      ],
    });
    stack.ollama!.faults.set({ faults: [{ kind: 'status', status: 500, count: 2 }] });
    const res = await stack.http.post('/conversation', { initialQuery: 'Be resilient', maxTurns: 2 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(readCsv(view.transcriptFile).length, 2);
    assert.ok(stack.bedrock!.stats().faults >= 3);
    assert.ok(stack.ollama!.stats().faults >= 2);
  });

  it("?wait=true answers synchronously in the seed's shape", async () => {
    const res = await stack.http.post('/conversation?wait=true', { initialQuery: 'Tell me about machine learning', maxTurns: 2 });
    assert.equal(res.status, 200);
    assert.equal(res.data.turns, 2);
    assert.equal(typeof res.data.averageProcessingTimeMs, 'number');
    assert.equal(res.data.conversation.length, 2);
    for (const c of res.data.conversation) {
      assert.deepEqual(Object.keys(c).sort(), ['cloudResponse', 'ollamaResponse', 'processingTimeMs', 'query', 'timestamp']);
      assert.ok(c.cloudResponse.length > 0 && c.ollamaResponse.length > 0);
    }
    // Where the rest is: the id, its status (also as Location), the CSV and the written file.
    const id = res.data.conversationId as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.location, `/conversation/${id}`);
    assert.equal(res.data.statusUrl, `/conversation/${id}`);
    assert.equal(res.data.transcriptUrl, `/conversation/${id}/transcript`);
    assert.equal(res.data.transcriptFile, path.join(stack.outputDir, `conversation-${id}.csv`));
    assert.equal(readCsv(res.data.transcriptFile).length, 2);
  });

  it("the bodies of the seed README's curl examples work unchanged", async () => {
    const a = await stack.http.post('/conversation', {
      initialQuery: 'What is the meaning of life?',
      outputFile: '/opt/conversation-client/conversation.csv',
    });
    assert.equal(a.status, 202);
    // The path was reduced to its name in OUTPUT_DIR, and the answer says so.
    assert.equal(a.data.outputFile, 'conversation.csv');
    assert.deepEqual(a.data.warnings, [
      'outputFile "/opt/conversation-client/conversation.csv" is written as "conversation.csv" inside the producer\'s OUTPUT_DIR: a transcript never leaves OUTPUT_DIR, so only the file name of a path is kept',
    ]);
    const b = await stack.http.post('/conversation', { initialQuery: 'Tell me about machine learning', outputFile: 'conversation.csv' });
    assert.equal(b.status, 202);
    assert.equal(b.data.warnings, undefined, 'a bare name is used as sent');
    const va = await waitForConversation(stack, a.data.conversationId);
    const vb = await waitForConversation(stack, b.data.conversationId);
    assert.equal(va.status, 'completed');
    assert.equal(vb.status, 'completed');
    // Both asked for conversation.csv: the second keeps the first's file intact.
    assert.notEqual(va.transcriptFile, vb.transcriptFile);
    for (const f of [va.transcriptFile, vb.transcriptFile]) assert.equal(path.dirname(f), stack.outputDir);
    const gen = await stack.http.post('/api/v1/generate', { inputText: 'Hello', temperature: 0.7, maxTokens: 100 });
    assert.equal(gen.status, 200);
    assert.match(gen.data.response, /emulated bedrock/i);
    assert.ok(gen.data.outputTokens > 0 && gen.data.inputTokens > 0);
    assert.equal(typeof gen.data.latencyMs, 'number');
  });
});

describe('exactly-once effects of a step', function () {
  this.timeout(30_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({}, { roles: [] });
  });
  after(async () => {
    await stack?.close();
  });

  it('a step processed twice records its turn once and enqueues one successor', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'Twice?', maxTurns: 3 });
    const id = res.data.conversationId;
    const job = await stack.queues.cloud.getJob(jobIds.cloud(id, 1));
    assert.ok(job, 'turn 1 job queued');
    const { createGatewayBackend, createOllamaBackend } = await import('../../providers/create-providers');
    const processor = createCloudProcessor({
      config: stack.config,
      store: stack.store,
      queues: stack.queues,
      cancels: new CancelRegistry(),
      cloud: createGatewayBackend(stack.config),
      local: createOllamaBackend(stack.config),
      logger: stack.logger,
    });
    const callsBefore = stack.bedrock!.stats().calls;
    assert.equal(await processor(job!), 'ok');
    assert.equal(await processor(job!), 'ok');
    const { turns } = (await stack.store.getConversation(id))!;
    assert.equal(turns.length, 1);
    assert.ok(turns[0]!.cloud);
    assert.equal(stack.bedrock!.stats().calls - callsBefore, 1, 'the re-run made no second call');
    const counts = await stack.queues.local.getJobCounts('waiting', 'active', 'delayed', 'completed');
    assert.equal(counts.waiting, 1, 'one successor');
    assert.ok(await stack.queues.local.getJob(jobIds.local(id, 1)));
  });
});
