/**
 * The judge role through the real pipeline: a finished conversation is scored against a rubric
 * file by the cloud model (Bedrock emulator behind the local API Gateway and the real Lambda
 * handler), the scores stored and shown in GET /conversation/:id. The emulator answers the judge's
 * answer format with deterministic scores (emulators/README.md); `[emulate:judge-garbage]` makes
 * it answer prose, which is asked again and then recorded as unscored.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestStack, until, waitForConversation, type TestStack } from '../helpers/test-stack';

describe('judge (real pipeline, emulators)', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmconv-judge-'));
    const rubric = path.join(dir, 'rubric.json');
    fs.writeFileSync(rubric, JSON.stringify({
      criteria: [{ name: 'helpfulness', description: 'Do the answers help?' }, { name: 'coherence', description: 'Does it stay on topic?' }],
      scale: { min: 1, max: 5 },
      prompt: 'Rate this conversation on each criterion.\n{{criteria}}\n\n{{transcript}}',
    }));
    stack = await startTestStack({ JUDGE_RUBRIC_FILE: rubric, JOB_ATTEMPTS: '3' });
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function judged(body: Record<string, unknown>) {
    const res = await stack.http.post('/conversation', body);
    assert.equal(res.status, 202);
    await waitForConversation(stack, res.data.conversationId, 60_000);
    let view: any;
    await until(async () => {
      view = (await stack.http.get(`/conversation/${res.data.conversationId}`)).data;
      return view.judge !== undefined;
    }, 30_000);
    return view;
  }

  it('a finished conversation gets a score per criterion within the scale, the same for the same conversation', async () => {
    const view = await judged({ initialQuery: 'What makes a good API?', maxTurns: 2 });
    assert.equal(view.judge.status, 'scored');
    assert.deepEqual(Object.keys(view.judge.scores).sort(), ['coherence', 'helpfulness']);
    for (const v of Object.values(view.judge.scores) as number[]) assert.ok(Number.isInteger(v) && v >= 1 && v <= 5);
    assert.equal(view.judge.attempts, 1);
    assert.match(view.judge.model, /anthropic\./);
    const again = await judged({ initialQuery: 'What makes a good API?', maxTurns: 2 });
    assert.deepEqual(again.judge.scores, view.judge.scores, 'deterministic emulator, same transcript → same scores');
  });

  it('an unparseable judge answer is asked again, then recorded unscored with the reason, never a score', async () => {
    const view = await judged({ initialQuery: 'Tell me a story. [emulate:judge-garbage]', maxTurns: 1 });
    assert.equal(view.judge.status, 'unscored');
    assert.equal(view.judge.scores, null);
    assert.equal(view.judge.attempts, 3);
    assert.match(view.judge.error, /no score for every criterion within 1-5/);
  });
});
