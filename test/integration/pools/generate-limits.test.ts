/**
 * `POST /api/v1/generate` goes through the same cloud provider as the cloud worker
 * (assembly/providers.ts): the fleet-wide per-model limiter of CLOUD_LIMITS, whose budget lives in
 * Redis and so is shared with the workers. With one request per minute for the model, a second
 * call waits for the window instead of reaching Bedrock, whether the first was a generate or a
 * conversation's cloud step; without CLOUD_LIMITS the same calls go straight through.
 */
import assert from 'node:assert/strict';
import { startTestStack, until, type TestStack } from '../../helpers/test-stack';

const MODEL = 'amazon.nova-micro-v1:0';
/** Longer than a call to the emulators takes (tens of ms), far shorter than the 60 s window. */
const PATIENCE_MS = 2500;

const converseCalls = (stack: TestStack) => stack.bedrock!.stats().calls;

/** A generate call the client gives up on after `ms`: 'waited' if nothing came back by then. */
async function generateWithin(stack: TestStack, ms: number, inputText: string): Promise<number | 'waited'> {
  const res = await stack.http.post('/api/v1/generate', { inputText, maxTokens: 50 }, { timeout: ms }).catch((err: Error) => {
    if ((err as { code?: string }).code === 'ECONNABORTED') return 'waited' as const;
    throw err;
  });
  return res === 'waited' ? res : res.status;
}

describe('CLOUD_LIMITS applies to /api/v1/generate (the cloud worker`s limited provider)', function () {
  this.timeout(60_000);

  describe('with a limit of one request per minute', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ BEDROCK_MODEL_ID: MODEL, CLOUD_LIMITS: JSON.stringify({ [MODEL]: { rpm: 1 } }) });
    });
    after(async () => {
      await stack?.close();
    });

    it('answers the first call, holds the second until the window has room, and Bedrock sees one', async () => {
      const before = converseCalls(stack);
      assert.equal(await generateWithin(stack, PATIENCE_MS, 'first'), 200);
      assert.equal(converseCalls(stack) - before, 1);
      // The limiter waits for room (bounded by the call's signal: here the client hanging up).
      assert.equal(await generateWithin(stack, PATIENCE_MS, 'second'), 'waited');
      assert.equal(converseCalls(stack) - before, 1, 'the second call reached Bedrock past CLOUD_LIMITS');
    });

    it('shares the budget with the cloud worker: a conversation waits while generate holds the window', async () => {
      // The window still holds the request of the test above: the worker's cloud step must wait too.
      const before = converseCalls(stack);
      const res = await stack.http.post('/conversation', { initialQuery: 'Why is the sky blue?', maxTurns: 1 });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      await until(async () => (await stack.queues.cloud.getActiveCount()) === 1, 5000, 'the cloud step to start');
      await new Promise((r) => setTimeout(r, PATIENCE_MS));
      assert.equal(converseCalls(stack) - before, 0, 'the cloud step reached Bedrock past CLOUD_LIMITS');
      const view = await stack.http.get(`/conversation/${res.data.conversationId}`);
      assert.equal(view.data.turnsCompleted, 0, JSON.stringify(view.data));
    });
  });

  describe('without CLOUD_LIMITS', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ BEDROCK_MODEL_ID: MODEL }, { roles: [] });
    });
    after(async () => {
      await stack?.close();
    });

    it('answers back-to-back calls at once (the control: the waits above are the limiter)', async () => {
      const before = converseCalls(stack);
      assert.equal(await generateWithin(stack, PATIENCE_MS, 'first'), 200);
      assert.equal(await generateWithin(stack, PATIENCE_MS, 'second'), 200);
      assert.equal(converseCalls(stack) - before, 2);
    });
  });
});
