import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../../../shared/errors';
import { startOllamaEmulator, TOO_LARGE_MESSAGE, type EmulatorHandle } from '../../../emulators/ollama-emulator';
import { loadConfig } from '../../../shared/config';
import { createLocalProvider } from '../../../providers/create-providers';
import { createOllamaProvider } from '../../../providers/ollama-provider';

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

/** A loopback port that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Ollama provider against the Ollama emulator (real ollama client)', () => {
  let emu: EmulatorHandle;

  before(async () => {
    emu = await startOllamaEmulator();
  });
  afterEach(() => {
    emu.faults.reset();
    emu.faults.resetStats();
  });
  after(async () => {
    await emu.close();
  });

  const provider = (timeoutMs = 5000) => createOllamaProvider({ host: emu.url, defaultModel: 'llama3.2', timeoutMs });

  it('returns the reply with model, token counts, stop reason and measured latency', async () => {
    emu.faults.set({ latencyMs: 50 });
    const reply = await provider().generate({
      prompt: 'Redis is an in-memory data store.',
      system: 'Ask one follow-up question.',
      history: [
        { role: 'user', content: 'What is Redis?' },
        { role: 'assistant', content: 'A database.' },
      ],
      temperature: 0.3,
    });
    assert.match(reply.text, /^\[emulated ollama llama3\.2\] .*"Redis is an in-memory data store\.".*\?$/);
    assert.equal(reply.model, 'llama3.2');
    assert.equal(reply.inputTokens, 4 + 3 + 2 + 6, 'system + history + prompt words');
    assert.equal(reply.outputTokens, reply.text.split(/\s+/).length);
    assert.equal(reply.stopReason, 'stop');
    assert.ok(reply.latencyMs >= 45 && reply.latencyMs < 5000, `latency ${reply.latencyMs}`);
    // The server's version and the model's facts (context length, thinking), the loaded context, then the chat.
    assert.deepEqual(emu.stats().byRoute, { version: 1, show: 1, ps: 1, chat: 1 });
  });

  it('passes maxTokens as num_predict (stop reason "length") and uses the call\'s model', async () => {
    const reply = await provider().generate({ prompt: 'Tell me about queues', model: 'llama2:latest', maxTokens: 3 });
    assert.equal(reply.outputTokens, 3);
    assert.equal(reply.stopReason, 'length');
    assert.equal(reply.model, 'llama2:latest');
  });

  it('sends every request through the injected fetch', async () => {
    const seen: string[] = [];
    const p = createOllamaProvider({
      host: emu.url,
      defaultModel: 'llama3.2',
      timeoutMs: 5000,
      fetch: (input, init) => {
        seen.push(String(input));
        assert.ok(init?.signal instanceof AbortSignal, 'every request carries a signal');
        return fetch(input, init);
      },
    });
    await p.generate({ prompt: 'hi' });
    assert.deepEqual(seen, [`${emu.url}/api/version`, `${emu.url}/api/show`, `${emu.url}/api/ps`, `${emu.url}/api/chat`]);
    seen.length = 0;
    await p.generate({ prompt: 'hi again' });
    assert.deepEqual(seen, [`${emu.url}/api/ps`, `${emu.url}/api/chat`], 'version and show are cached');
  });

  it('an unknown model is permanent and names the model and `ollama pull`', async () => {
    const err = await rejection(provider().generate({ prompt: 'hi', model: 'mistral' }));
    assert.equal(err.provider, 'ollama');
    assert.equal(err.retryable, false);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    assert.match(err.message, /"mistral"/);
    assert.match(err.message, /ollama pull mistral/);
  });

  it('a 400 is permanent', async () => {
    emu.faults.set({ faults: [{ kind: 'validation', count: 1 }] });
    const err = await rejection(provider().generate({ prompt: 'hi' }));
    assert.equal(err.retryable, false);
    assert.equal(err.status, 400);
  });

  for (const status of [429, 500, 503]) {
    it(`a ${status} is retryable and keeps the status`, async () => {
      emu.faults.set({ faults: [{ kind: 'status', status, count: 1 }] });
      const err = await rejection(provider().generate({ prompt: 'hi' }));
      assert.equal(err.retryable, true);
      assert.equal(err.status, status);
      assert.equal(err.name, 'ProviderError');
    });
  }

  it('a malformed body is retryable', async () => {
    emu.faults.set({ faults: [{ kind: 'malformed', count: 1 }] });
    const err = await rejection(provider().generate({ prompt: 'hi' }));
    assert.equal(err.retryable, true);
    assert.equal(err.code, 'bad_response');
  });

  it('a hang is cut by the timeout: retryable, code timeout, "timed out after N ms"', async () => {
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
    const started = Date.now();
    const err = await rejection(provider(10_000).generate({ prompt: 'hi', timeoutMs: 200 }));
    const elapsed = Date.now() - started;
    assert.equal(err.retryable, true);
    assert.equal(err.code, 'timeout');
    assert.notEqual(err.name, 'AbortError');
    assert.match(err.message, /timed out after 200 ms/);
    assert.ok(elapsed >= 190 && elapsed < 2000, `gave up after ${elapsed} ms`);
  });

  it('the provider-wide timeout applies when the call gives none', async () => {
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
    const err = await rejection(provider(150).generate({ prompt: 'hi' }));
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /timed out after 150 ms/);
  });

  it('aborting call.signal cancels the call: name AbortError, code aborted, not retryable', async () => {
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('conversation cancelled')), 100);
    const started = Date.now();
    const err = await rejection(provider(10_000).generate({ prompt: 'hi', signal: controller.signal }));
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'aborted');
    assert.equal(err.retryable, false);
    assert.match(err.message, /conversation cancelled/);
    assert.ok(Date.now() - started < 2000);
  });

  it('an already aborted signal fails at once without calling Ollama', async () => {
    const err = await rejection(provider().generate({ prompt: 'hi', signal: AbortSignal.abort() }));
    assert.equal(err.name, 'AbortError');
    assert.equal(emu.stats().calls, 0);
  });

  it('aborting one call leaves concurrent calls of the same provider alone', async () => {
    const p = provider();
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }], latencyMs: 150 });
    const controller = new AbortController();
    const doomed = rejection(p.generate({ prompt: 'one', signal: controller.signal }));
    await new Promise((r) => setTimeout(r, 20));
    const survivor = p.generate({ prompt: 'two' });
    controller.abort();
    assert.equal((await doomed).code, 'aborted');
    assert.equal((await survivor).stopReason, 'stop');
  });

  it('a timeout really closes the connection (the server sees the client leave)', async () => {
    let closedAt = 0;
    const server = http.createServer((req) => {
      req.resume();
      req.socket.once('close', () => {
        closedAt = Date.now();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const p = createOllamaProvider({ host: `http://127.0.0.1:${port}`, defaultModel: 'llama3.2', timeoutMs: 150 });
      const err = await rejection(p.generate({ prompt: 'hi' }));
      const failedAt = Date.now();
      assert.equal(err.code, 'timeout');
      for (let i = 0; i < 50 && closedAt === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(closedAt > 0, 'the socket was closed when the call timed out');
      assert.ok(closedAt - failedAt < 500, `closed ${closedAt - failedAt} ms after the timeout`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('connection refused is retryable', async () => {
    const port = await closedPort();
    const p = createOllamaProvider({ host: `http://127.0.0.1:${port}`, defaultModel: 'llama3.2', timeoutMs: 5000 });
    const err = await rejection(p.generate({ prompt: 'hi' }));
    assert.equal(err.retryable, true);
    assert.equal(err.code, 'connection_error');
    assert.match(err.message, /ECONNREFUSED/);
  });

  it('a 500 for a model too large for the host is permanent, with Ollama\'s own message', async () => {
    // The wording of ollama/ollama llm/server.go (released versions): "model requires more system memory (%s) than is available (%s)".
    const big = await startOllamaEmulator({ tooLargeModels: ['llama3.2'] });
    try {
      const err = await rejection(createOllamaProvider({ host: big.url, defaultModel: 'llama3.2', timeoutMs: 5000 }).generate({ prompt: 'hi' }));
      assert.equal(err.retryable, false);
      assert.equal(err.status, 500);
      assert.equal(err.code, 'model_load_failed');
      assert.ok(err.message.includes(TOO_LARGE_MESSAGE), err.message);
      assert.match(err.message, /smaller model/);
    } finally {
      await big.close();
    }
  });

  it('sends keep_alive and num_ctx on every call (a bare number of seconds as a number, as Ollama decodes it)', async () => {
    const bodies: Record<string, unknown>[] = [];
    const p = createOllamaProvider({
      host: emu.url, defaultModel: 'llama3.2', timeoutMs: 5000, keepAlive: '600', numCtx: 8192,
      fetch: (input, init) => {
        if (String(input).endsWith('/api/chat')) bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
        return fetch(input, init);
      },
    });
    await p.generate({ prompt: 'hi' });
    assert.equal(bodies[0]!.keep_alive, 600);
    assert.equal((bodies[0]!.options as { num_ctx?: number }).num_ctx, 8192);
    // A string "600" is what Ollama refuses: Go's time.ParseDuration wants a unit.
    const raw = await fetch(`${emu.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages: [], keep_alive: '600' }) });
    assert.equal(raw.status, 400);
    assert.deepEqual(await raw.json(), { error: 'time: missing unit in duration "600"' });
  });

  it('keep_alive keeps the model loaded between calls: only the first call pays the cold load', async () => {
    const cold = await startOllamaEmulator({ coldLoadMs: 400 });
    try {
      const p = createOllamaProvider({ host: cold.url, defaultModel: 'llama3.2', timeoutMs: 5000, keepAlive: '30m' });
      const first = await p.generate({ prompt: 'one' });
      const second = await p.generate({ prompt: 'two' });
      assert.ok(first.latencyMs >= 390, `cold ${first.latencyMs} ms`);
      assert.ok(second.latencyMs < 300, `warm ${second.latencyMs} ms`);
      const expires = new Date((await (await fetch(`${cold.url}/api/ps`)).json() as { models: { expires_at: string }[] }).models[0]!.expires_at).getTime();
      assert.ok(expires - Date.now() > 25 * 60_000, 'loaded for the configured 30m, not Ollama\'s default 5m');
    } finally {
      await cold.close();
    }
  });

  describe('thinking models (ollama/ollama server/routes.go ChatHandler: thinking is on unless think is false)', () => {
    let thinker: EmulatorHandle;
    before(async () => {
      thinker = await startOllamaEmulator({ models: ['qwen3:0.6b', 'llama3.2'], thinkingTokens: 30 });
    });
    after(async () => {
      await thinker.close();
    });
    const qwen = () => createOllamaProvider({ host: thinker.url, defaultModel: 'qwen3:0.6b', timeoutMs: 5000 });

    it('thinking is off unless the call asks: the whole maxTokens goes to the answer', async () => {
      const reply = await qwen().generate({ prompt: 'Tell me about queues', maxTokens: 20 });
      assert.equal(reply.text.split(/\s+/).length, 20);
      assert.match(reply.text, /^\[emulated ollama qwen3:0\.6b\]/);
      assert.equal(reply.outputTokens, 20);
      assert.equal(reply.thinking, undefined);
      // think:false is accepted by a model that cannot think, too.
      const plain = await createOllamaProvider({ host: thinker.url, defaultModel: 'llama3.2', timeoutMs: 5000 }).generate({ prompt: 'hi' });
      assert.equal(plain.stopReason, 'stop');
    });

    it('with think the reasoning comes back apart from the answer', async () => {
      const reply = await qwen().generate({ prompt: 'Tell me about queues', think: true });
      assert.equal(reply.thinking!.split(/\s+/).length, 30);
      assert.match(reply.text, /^\[emulated ollama qwen3:0\.6b\]/);
      assert.ok(!reply.text.includes(reply.thinking!.slice(0, 20)), 'no reasoning in the answer');
      assert.equal(reply.outputTokens, 30 + reply.text.split(/\s+/).length);
    });

    it('thinking that uses the whole maxTokens comes back empty, marked truncated, with the reasoning tokens (the turn rules end it empty_answer)', async () => {
      const reply = await qwen().generate({ prompt: 'Tell me about queues', think: true, maxTokens: 25 });
      assert.equal(reply.text, '');
      assert.equal(reply.stopReason, 'length');
      assert.equal(reply.truncated, true);
      assert.equal(reply.reasoningTokens, 25);
      assert.equal(reply.promptTruncated, undefined);
    });
  });

  it('flags a prompt that cannot have fit num_ctx (Ollama cuts it silently, server/prompt.go chatPrompt)', async () => {
    const history = Array.from({ length: 6 }, (_, i) => ({ role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant', content: `turn ${i} ${'word '.repeat(30)}` }));
    const p = createOllamaProvider({ host: emu.url, defaultModel: 'llama3.2', timeoutMs: 5000, numCtx: 100 });
    const cut = await p.generate({ prompt: 'What next?', history });
    assert.equal(cut.promptTruncated, true);
    assert.ok(cut.inputTokens <= 100, `evaluated ${cut.inputTokens}`);
    const fits = await p.generate({ prompt: 'What next?', history: history.slice(-2) });
    assert.equal(fits.promptTruncated, undefined);
  });

  it('a worker configured with OLLAMA_HOST in Ollama\'s own host:port form (the systemd drop-in) talks to Ollama', async () => {
    const config = loadConfig({ OLLAMA_HOST: `127.0.0.1:${emu.port}`, OLLAMA_MODEL: 'llama3.2' });
    emu.faults.resetStats();
    const reply = await createLocalProvider(config).generate({ prompt: 'hi' });
    assert.match(reply.text, /emulated ollama/);
    assert.equal(emu.stats().byRoute.chat, 1);
  });

  it('rejects missing required options', () => {
    assert.throws(() => createOllamaProvider({ host: '', defaultModel: 'm', timeoutMs: 1 }), /host is required/);
    assert.throws(() => createOllamaProvider({ host: 'http://x', defaultModel: '', timeoutMs: 1 }), /defaultModel is required/);
    assert.throws(() => createOllamaProvider({ host: 'http://x', defaultModel: 'm', timeoutMs: 0 }), /timeoutMs must be > 0/);
  });
});
