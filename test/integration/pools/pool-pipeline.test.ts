/**
 * The local model pool inside the whole pipeline (producer, workers from startWorkers, real Redis,
 * the real `ollama` client): conversations run on two Ollama hosts listed in OLLAMA_HOSTS, and when
 * one host dies mid-run its turns finish on the other.
 */
import assert from 'node:assert/strict';
import { startOllamaEmulator, type EmulatorHandle } from '../../../emulators/ollama-emulator';
import { startTestStack, until, waitForConversation, type TestStack } from '../../helpers/test-stack';

describe('local model pool in the pipeline (OLLAMA_HOSTS)', function () {
  this.timeout(60_000);
  let gpu1: EmulatorHandle;
  let gpu2: EmulatorHandle;
  let stack: TestStack;

  before(async () => {
    gpu1 = await startOllamaEmulator({ latencyMs: 150 });
    gpu2 = await startOllamaEmulator({ latencyMs: 150 });
    stack = await startTestStack({ OLLAMA_HOSTS: `${gpu1.url}*2,${gpu2.url}*2`, LOCAL_CONCURRENCY: '8', OLLAMA_BREAKER_FAILURES: '1' });
  });
  after(async () => {
    await stack.close();
    await gpu1.close();
    await gpu2.close();
  });

  it('conversations complete on both hosts; a host killed mid-run leaves its turns to the other', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await stack.http.post('/conversation', { initialQuery: `Pool question ${i}`, maxTurns: 3 });
      assert.equal(res.status, 202, JSON.stringify(res.data));
      ids.push(res.data.conversationId);
    }
    await until(() => (gpu1.stats().byRoute.chat ?? 0) > 0 && (gpu2.stats().byRoute.chat ?? 0) > 0, 20_000, 'both hosts answer');
    await gpu1.close();
    const before = gpu2.stats().byRoute.chat ?? 0;
    for (const id of ids) {
      const view = await waitForConversation(stack, id, 40_000);
      assert.equal(view.status, 'completed', JSON.stringify(view));
      assert.equal(view.turns.length, 3);
    }
    assert.ok((gpu2.stats().byRoute.chat ?? 0) > before, 'the remaining turns ran on gpu2');
    assert.ok(gpu1.stats().maxInFlight <= 2 && gpu2.stats().maxInFlight <= 2, 'neither host ran more than its 2 slots');
  });
});
