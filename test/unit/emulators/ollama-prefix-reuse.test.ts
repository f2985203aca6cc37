/**
 * The Ollama emulator reuses the KV cache of the previous prompt while the model stays loaded
 * (ollama/ollama runner/ollamarunner/cache.go LoadCacheSlot, read 2026-12-03; llama-server's
 * `cache_prompt` since the Go runners were removed, llm/llama_server.go at fb30760, read
 * 2026-12-04): a prompt that starts with the previous one is evaluated only past the common
 * prefix, so prompt_eval_duration (`timings.prompt_ms`) drops while prompt_eval_count stays the
 * whole prompt (`cache_n + prompt_n`); a cold load (keep_alive 0) starts empty. Real `ollama` client.
 */
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { startOllamaEmulator, type OllamaEmulatorHandle } from '../../../emulators/ollama-emulator';

describe('Ollama emulator: prefix reuse while loaded', () => {
  let emu: OllamaEmulatorHandle;
  before(async () => {
    emu = await startOllamaEmulator({ port: 0, contextLength: 0 });
  });
  after(() => emu.close());

  const history = [
    { role: 'system', content: 'You ask short follow-up questions about the answer you are given.' },
    { role: 'user', content: 'one two three four five six seven eight nine ten' },
    { role: 'assistant', content: 'alpha beta gamma delta epsilon' },
  ];

  it('evaluates only the new tokens of a prompt that extends the previous one', async () => {
    const ollama = new Ollama({ host: emu.url });
    const first = await ollama.chat({ model: 'llama3.2', messages: history, stream: false });
    const before = { ...emu.promptTokens };
    const next = await ollama.chat({
      model: 'llama3.2',
      messages: [...history, { role: 'user', content: 'and now eleven twelve' }],
      stream: false,
    });
    assert.equal(next.prompt_eval_count, first.prompt_eval_count + 4, 'the count is the whole prompt');
    assert.equal(emu.promptTokens.evaluated - before.evaluated, 4, 'the four new words only were run');
    assert.equal(next.prompt_eval_duration, 4 * 200_000);
    assert.ok(next.prompt_eval_duration < first.prompt_eval_duration);
  });

  it('a changed prefix (a sliding window) is evaluated from where it changed: all but the system prompt', async () => {
    const ollama = new Ollama({ host: emu.url });
    await ollama.chat({ model: 'llama3.2', messages: history, stream: false });
    const before = { ...emu.promptTokens };
    await ollama.chat({ model: 'llama3.2', messages: [history[0]!, ...history.slice(2), { role: 'user', content: 'x y' }], stream: false });
    assert.equal(emu.promptTokens.evaluated - before.evaluated, 5 + 2);
  });

  it('an unloaded model (keep_alive 0) starts with an empty cache', async () => {
    const ollama = new Ollama({ host: emu.url });
    await ollama.chat({ model: 'llama3.2', messages: history, stream: false, keep_alive: 0 });
    const before = { ...emu.promptTokens };
    const again = await ollama.chat({ model: 'llama3.2', messages: history, stream: false });
    assert.equal(emu.promptTokens.evaluated - before.evaluated, again.prompt_eval_count);
    assert.ok(emu.promptTokens.evaluated < emu.promptTokens.sent);
  });
});
