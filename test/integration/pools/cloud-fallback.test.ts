/**
 * Cloud fallbacks end to end (producer, workers, real Redis, the real cloud path to the Bedrock
 * emulator): a conversation whose `cloudModel` is a list moves a turn to the next model after the
 * first keeps throttling, and the turn records which model answered and that it was a fallback
 * (GET /conversation/:id, the CSV's `cloud_fallback`). Bedrock's throttle is a 429
 * ThrottlingException (emulators/bedrock-emulator.ts reproduces its shape). On a step's last
 * attempt a retryable error (Bedrock's 500 InternalServerException) moves the turn to the next model
 * too, instead of failing the conversation with `retries_exhausted`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestStack, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('cloud fallbacks (cloudModel as a list)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  const primary = 'amazon.nova-micro-v1:0';
  const fallback = 'amazon.nova-lite-v1:0';

  before(async () => {
    stack = await startTestStack({ CLOUD_FALLBACK_AFTER_THROTTLES: '2', CLOUD_THROTTLE_BACKOFF_MS: '0' });
  });
  after(async () => stack.close());
  afterEach(() => stack.bedrock!.faults.reset());

  it('a turn goes to the fallback after the first model keeps throttling, and records it', async () => {
    stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 429, model: primary }] });
    const res = await stack.http.post('/conversation', {
      initialQuery: 'Where do fallbacks go?',
      maxTurns: 2,
      cloudModel: [primary, fallback],
    });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', JSON.stringify(view));
    for (const t of view.turns) {
      assert.equal(t.cloud.model, fallback);
      assert.equal(t.cloud.requestedModel, primary);
    }
    assert.ok((stack.bedrock!.stats().byModel[primary] ?? 0) >= 4, 'the primary was tried twice per turn first');
    assert.equal(view.cloudModel, primary);
    const csv = fs.readFileSync(path.join(stack.outputDir, view.outputFile ?? `conversation-${view.conversationId}.csv`), 'utf8');
    const [header, row] = csv.split('\r\n');
    const cols = header!.split(',');
    // Columns are read by name: new ones are appended at the end (the prompt-cache columns after `truncated`).
    // (Counted from the end: the text cells before them hold quoted commas.)
    const cells = row!.split(',');
    const at = cols.indexOf('cloud_fallback');
    assert.ok(at >= 0 && cols[at + 1] === 'truncated', header);
    assert.equal(cells[cells.length - (cols.length - at)], primary, row);
  });

  it('a healthy first model answers and the turn is not marked', async () => {
    const res = await stack.http.post('/conversation', {
      initialQuery: 'No fallback needed',
      maxTurns: 1,
      cloudModel: [primary, fallback],
    });
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.turns[0].cloud.model, primary);
    assert.equal('requestedModel' in view.turns[0].cloud, false);
  });

  it('a bad list is a 400 naming the field', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'x', cloudModel: [] });
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.data), /cloudModel/);
  });
});

describe('cloud fallbacks after retries are exhausted', function () {
  this.timeout(60_000);
  let stack: TestStack;
  const primary = 'amazon.nova-micro-v1:0';
  const fallback = 'amazon.nova-lite-v1:0';

  before(async () => {
    stack = await startTestStack({ JOB_ATTEMPTS: '2', BACKOFF_DELAY_MS: '50' });
    // The primary fails every call with a retryable 500; the fallback is healthy.
    stack.bedrock!.faults.set({ faults: [{ kind: 'status', status: 500, model: primary }] });
  });
  after(async () => stack.close());

  it('the last attempt of a failing primary goes to the next model, and the turn records it', async () => {
    const res = await stack.http.post('/conversation', {
      initialQuery: 'Fallback after retries',
      maxTurns: 1,
      cloudModel: [primary, fallback],
    });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'completed', JSON.stringify(view));
    assert.equal(view.turns[0].cloud.model, fallback);
    assert.equal(view.turns[0].cloud.requestedModel, primary);
    // Both attempts asked the primary first; only the last one went on to the fallback.
    assert.ok((stack.bedrock!.stats().byModel[primary] ?? 0) >= 2, JSON.stringify(stack.bedrock!.stats().byModel));
    assert.equal(stack.bedrock!.stats().byModel[fallback], 1);
  });

  it('without a fallback the same failure ends the conversation with retries_exhausted', async () => {
    const res = await stack.http.post('/conversation', { initialQuery: 'No fallback to go to', maxTurns: 1, cloudModel: primary });
    assert.equal(res.status, 202, JSON.stringify(res.data));
    const view = await waitForConversation(stack, res.data.conversationId);
    assert.equal(view.status, 'failed', JSON.stringify(view));
    assert.equal(view.stopReason, 'retries_exhausted', JSON.stringify(view));
  });
});
