/**
 * Fault 4: the LLMs misbehave. Both emulators answer 30% of calls with 500/503/429 and let some
 * hang (the per-call timeout must cut them); every conversation still completes through retries.
 * Permanent errors fail the conversation at once with the provider's message, without retries.
 * Randomness is seeded (FAULT_SEED) so a failing run can be replayed.
 */
import assert from 'node:assert/strict';
import { startBedrockEmulator } from '../../emulators/bedrock-emulator';
import type { EmulatorHandle } from '../../emulators/emulator-server';
import type { FaultSpec } from '../../emulators/fault-injector';
import { startOllamaEmulator } from '../../emulators/ollama-emulator';
import { startTestStack, waitForConversation, type TestStack } from '../helpers/test-stack';
import { faultSeed, seededRandom } from './fixtures/seeded-random';
import { checkCompleteTranscript, leftoverJobs, readCsv } from './fixtures/transcript-check';

const CONVERSATIONS = 20;
const MAX_TURNS = 3;

/**
 * 30% 5xx/429 in total (10% each; conditional rates because rules are tried in order), then 5%
 * hangs, then about 5% each of malformed 200 bodies and replies cut mid-stream.
 */
const FLAKY: FaultSpec[] = [
  { kind: 'status', status: 500, rate: 0.1 },
  { kind: 'status', status: 503, rate: 0.1 / 0.9 },
  { kind: 'status', status: 429, rate: 0.1 / 0.8 },
  { kind: 'hang', rate: 0.05 / 0.7 },
  { kind: 'malformed', rate: 0.05 },
  { kind: 'midstream-error', rate: 0.05 },
];

describe('fault: downstream LLM errors and hangs', function () {
  this.timeout(120_000);
  const seed = faultSeed(4004);
  let bedrock: EmulatorHandle;
  let ollama: EmulatorHandle;
  let stack: TestStack;

  before(async function () {
    this.timeout(30_000);
    bedrock = await startBedrockEmulator({ latencyMs: 20, random: seededRandom(seed) });
    ollama = await startOllamaEmulator({ latencyMs: 20, random: seededRandom(seed + 1) });
    stack = await startTestStack({
      BEDROCK_ENDPOINT: bedrock.url,
      OLLAMA_HOST: ollama.url,
      // Hung calls are cut by the per-call timeout and retried.
      API_GATEWAY_TIMEOUT_MS: '1500',
      OLLAMA_TIMEOUT_MS: '1500',
      JOB_ATTEMPTS: '10',
      BACKOFF_DELAY_MS: '50',
      CLOUD_CONCURRENCY: '8',
      LOCAL_CONCURRENCY: '8',
    });
  });
  afterEach(() => {
    bedrock.faults.reset();
    ollama.faults.reset();
  });
  after(async function () {
    this.timeout(30_000);
    await stack?.close();
    await bedrock?.close();
    await ollama?.close();
  });

  it(`${CONVERSATIONS} conversations complete in full through 30% 5xx/429, hangs, malformed and cut-off replies on both LLMs`, async () => {
    bedrock.faults.set({ faults: FLAKY });
    ollama.faults.set({ faults: FLAKY });
    bedrock.faults.resetStats();
    ollama.faults.resetStats();
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const res = await stack.http.post('/conversation', { initialQuery: `Flaky question ${i}`, maxTurns: MAX_TURNS });
      assert.equal(res.status, 202);
      ids.push(res.data.conversationId);
    }
    const views = await Promise.all(ids.map((id) => waitForConversation(stack, id, 90_000)));
    for (const v of views) assert.equal(v.status, 'completed', `${v.conversationId}: ${v.stopReason} ${v.error}`);
    let rowsChecked = 0;
    for (const id of ids) rowsChecked += await checkCompleteTranscript(stack.store, stack.outputDir, id, MAX_TURNS);
    assert.deepEqual(await leftoverJobs(stack.queues), {});

    const b = bedrock.stats();
    const o = ollama.stats();
    const figures = {
      seed,
      conversations: CONVERSATIONS,
      maxTurns: MAX_TURNS,
      rowsChecked,
      bedrock: { calls: b.calls, faults: b.faults, byStatus: b.faultsByStatus, byKind: b.faultsByKind },
      ollama: { calls: o.calls, faults: o.faults, byStatus: o.faultsByStatus, byKind: o.faultsByKind },
      elapsedMs: Date.now() - started,
    };
    console.log(`      [figures] downstream-faults ${JSON.stringify(figures)}`);
    // The faults really happened, on both sides, of every kind.
    for (const s of [b, o]) {
      assert.ok(s.faults / s.calls > 0.15, `a real fault rate (got ${s.faults}/${s.calls})`);
      for (const status of ['500', '503', '429']) assert.ok((s.faultsByStatus[status] ?? 0) > 0, `${status} injected`);
      assert.ok((s.faultsByKind.hang ?? 0) > 0, 'hangs injected');
    }
  });

  it('a Bedrock ValidationException fails the conversation at once with its message, without retries', async () => {
    const model = 'test.validation-fails-v1';
    const message = 'Malformed input request: #/messages/0/content: expected type: String, found: JSONArray';
    bedrock.faults.set({ faults: [{ kind: 'validation', model, message }] });
    const t0 = Date.now();
    const res = await stack.http.post('/conversation', { initialQuery: 'Validate me', maxTurns: 3, cloudModel: model });
    const view = await waitForConversation(stack, res.data.conversationId);
    const elapsedMs = Date.now() - t0;
    assert.equal(view.status, 'failed');
    assert.equal(view.stopReason, 'provider_error');
    assert.match(view.error, /ValidationException/);
    assert.ok(view.error.includes(message), view.error);
    assert.equal(bedrock.stats().byModel[model], 1, 'called once: not retried by the SDK, the Lambda or BullMQ');
    assert.equal(readCsv(view.transcriptFile).length, 0);
    console.log(`      [figures] validation-exception ${JSON.stringify({ bedrockCalls: 1, elapsedMs, error: view.error })}`);
    assert.ok(elapsedMs < 5000, `failed at once (${elapsedMs} ms)`);
  });

  it('an unknown Ollama model is refused at submission, before any cloud call, naming the model and `ollama pull`', async () => {
    // The local workers published their Ollama's models, so the producer refuses it before the
    // cloud turn is paid for (before, this conversation failed after its first cloud call).
    const model = 'mistral-not-pulled:7b';
    bedrock.faults.resetStats();
    const res = await stack.http.post('/conversation', { initialQuery: 'Which local model?', maxTurns: 3, localModel: model });
    assert.equal(res.status, 400);
    const error = res.data.error.message as string;
    assert.ok(error.includes(`"${model}"`), error);
    assert.ok(error.includes(`ollama pull ${model}`), error);
    assert.equal(ollama.stats().byModel[model], undefined, 'Ollama never asked');
    assert.equal(bedrock.stats().calls, 0, 'no cloud call');
    console.log(`      [figures] unknown-ollama-model ${JSON.stringify({ ollamaCalls: 0, bedrockCalls: 0, error })}`);
  });
});
