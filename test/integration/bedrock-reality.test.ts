/**
 * Bedrock's real behaviours through the whole pipeline (real Redis, the Bedrock emulator behind the
 * local gateway and our Lambda handler, workers, producer): over-cap `maxTokens` refused at
 * submission, an answer without text ending the conversation with Converse's stop reason, and a
 * quota error retried per job without pausing the cloud queue fleet-wide.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { encodeResponseBase64 } from '../../proto/codec';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';

function readCsv(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

describe('Bedrock as it really behaves, end to end', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    // A fleet-wide pause long enough to see: a quota error must not trigger it.
    stack = await startTestStack({ CLOUD_THROTTLE_BACKOFF_MS: '30000' });
  });
  afterEach(() => {
    stack.bedrock!.faults.reset();
    stack.ollama!.faults.reset();
  });
  after(async () => {
    await stack?.close();
  });

  it("refuses maxTokens above the cloud model's output cap at submission with 400 naming maxTokens and the cap", async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'q', maxTokens: 8192 });
    assert.equal(res.status, 400);
    assert.match(
      JSON.stringify(res.data),
      /maxTokens 8192 is above the output cap of amazon\.nova-micro-v1:0 \(Amazon Nova Micro\): at most 5000/,
    );
    const profile = await stack.http.post('/conversation', { initialQuery: 'q', maxTokens: 5001, cloudModel: 'us.amazon.nova-lite-v1:0' });
    assert.equal(profile.status, 400, 'an inference-profile id is checked against its base model');
    assert.match(JSON.stringify(profile.data), /at most 5000/);
    const unknown = await stack.http.post('/conversation', {
      initialQuery: 'q',
      maxTokens: 8192,
      maxTurns: 1,
      cloudModel: 'example.unknown-model-v1',
    });
    assert.equal(unknown.status, 202, 'a model the table does not know passes');
    await waitForConversation(stack, unknown.data.conversationId);
  });

  it('a filtered answer ends the conversation completed with stopReason content_filtered, earlier turns kept, never sent as history', async () => {
    const before = stack.bedrock!.stats().byRoute.converse ?? 0;
    const res = await stack.http.post('/conversation', {
      initialQuery: 'Start here',
      maxTurns: 5,
      // Turn 2's question carries the marker: the emulator answers 200 with no text, content_filtered.
      templates: { nextQuery: 'Comment [emulate:content_filtered] on: {{followUp}}' },
    });
    assert.equal(res.status, 202);
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(view.stopReason, 'content_filtered');
    const rows = readCsv(view.transcriptFile);
    assert.ok(rows.length >= 1, 'the transcript is kept');
    assert.match(rows[0]!.cloud_response!, /emulated bedrock/);
    assert.ok(rows.every((r) => r.stop_reason === 'content_filtered'));
    assert.equal((stack.bedrock!.stats().byRoute.converse ?? 0) - before, 2, 'no third cloud call with an empty answer as history');
  });

  it('ServiceQuotaExceeded is retried per job and does not pause the cloud queue fleet-wide', async () => {
    stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 400, errorType: 'ServiceQuotaExceededException', count: 2 }] });
    const started = Date.now();
    const res = await stack.http.post('/conversation', { initialQuery: 'Quota', maxTurns: 1 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.ok(Date.now() - started < 15_000, 'not held by a 30 s fleet-wide pause');
    // The limiter key may hold the cloud rate limit's own short window; a fleet-wide pause would leave ~30 s.
    assert.ok((await stack.queues.cloud.getRateLimitTtl()) < 5_000, 'the cloud queue is not paused');
  });
});

describe('a Lambda deployed before quotas were told apart from throttles', function () {
  this.timeout(60_000);
  let lambda: http.Server;
  let stack: TestStack;
  let calls = 0;

  before(async () => {
    // It answered ServiceQuotaExceeded as 429 `throttled`, naming the exception in its message.
    lambda = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls += 1;
        const body =
          calls === 1
            ? encodeResponseBase64({
                outputText: '',
                error: {
                  code: 'throttled',
                  status: 429,
                  retryable: true,
                  message: 'ServiceQuotaExceededException: Your request exceeds the service quota for your account.',
                },
              })
            : encodeResponseBase64({
                outputText: 'An answer after the quota error.',
                modelId: 'amazon.nova-micro-v1:0',
                stopReason: 'end_turn',
              });
        res.writeHead(calls === 1 ? 429 : 200, { 'content-type': 'application/x-protobuf' });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(lambda.address() as AddressInfo).port}/generate`;
    stack = await startTestStack({ API_GATEWAY_URL: url, CLOUD_THROTTLE_BACKOFF_MS: '30000' });
  });
  after(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => lambda.close(() => resolve()));
  });

  it('its 429 naming ServiceQuotaExceededException is retried per job, without the fleet-wide pause', async () => {
    const started = Date.now();
    const res = await stack.http.post('/conversation', { initialQuery: 'Quota', maxTurns: 1 });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', view.error);
    assert.equal(calls, 2);
    assert.ok(Date.now() - started < 15_000, 'not held by a 30 s fleet-wide pause');
  });
});
