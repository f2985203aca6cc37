import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ollama } from 'ollama';
import { ProviderError } from '../../../shared/errors';
import { startOllamaEmulator, TOO_LARGE_MESSAGE, type EmulatorHandle } from '../../../emulators/ollama-emulator';
import { loadConfig } from '../../../shared/config';
import { createOllamaBackend } from '../../../providers/create-providers';
import { createOllamaProvider } from '../../../providers/ollama-provider';
import { chooseNumCtx, contextStep, promptWasCut } from '../../../providers/ollama-context';
import {
  ollamaModelFacts,
  ollamaRunningContext,
  ollamaVersion,
  smallestDefaultContext,
  supportsTruncateFlag,
  versionAtLeast,
} from '../../../providers/ollama-probe';

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
    await p.generate({ prompt: 'warm' }); // the server's facts are asked once, before the first chat
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }], latencyMs: 150 });
    const controller = new AbortController();
    const doomed = rejection(p.generate({ prompt: 'one', signal: controller.signal }));
    // The first chat (the one that hangs) is under way before the second starts.
    while (emu.stats().inFlight === 0) await new Promise((r) => setTimeout(r, 5));
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

  it("a 500 for a model too large for the host is permanent, with Ollama's own message", async () => {
    // The wording of ollama/ollama llm/server.go (released versions): "model requires more system memory (%s) than is available (%s)".
    const big = await startOllamaEmulator({ tooLargeModels: ['llama3.2'] });
    try {
      const err = await rejection(
        createOllamaProvider({ host: big.url, defaultModel: 'llama3.2', timeoutMs: 5000 }).generate({ prompt: 'hi' }),
      );
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
      host: emu.url,
      defaultModel: 'llama3.2',
      timeoutMs: 5000,
      keepAlive: '600',
      numCtx: 8192,
      fetch: (input, init) => {
        if (String(input).endsWith('/api/chat')) bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
        return fetch(input, init);
      },
    });
    await p.generate({ prompt: 'hi' });
    assert.equal(bodies[0]!.keep_alive, 600);
    assert.equal((bodies[0]!.options as { num_ctx?: number }).num_ctx, 8192);
    // A string "600" is what Ollama refuses: Go's time.ParseDuration wants a unit.
    const raw = await fetch(`${emu.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', messages: [], keep_alive: '600' }),
    });
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
      const expires = new Date(
        ((await (await fetch(`${cold.url}/api/ps`)).json()) as { models: { expires_at: string }[] }).models[0]!.expires_at,
      ).getTime();
      assert.ok(expires - Date.now() > 25 * 60_000, "loaded for the configured 30m, not Ollama's default 5m");
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
    const history = Array.from({ length: 6 }, (_, i) => ({
      role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
      content: `turn ${i} ${'word '.repeat(30)}`,
    }));
    const p = createOllamaProvider({ host: emu.url, defaultModel: 'llama3.2', timeoutMs: 5000, numCtx: 100 });
    const cut = await p.generate({ prompt: 'What next?', history });
    assert.equal(cut.promptTruncated, true);
    assert.ok(cut.inputTokens <= 100, `evaluated ${cut.inputTokens}`);
    const fits = await p.generate({ prompt: 'What next?', history: history.slice(-2) });
    assert.equal(fits.promptTruncated, undefined);
  });

  it("a worker configured with OLLAMA_HOST in Ollama's own host:port form (the systemd drop-in) talks to Ollama", async () => {
    const config = loadConfig({ OLLAMA_HOST: `127.0.0.1:${emu.port}`, OLLAMA_MODEL: 'llama3.2' });
    emu.faults.resetStats();
    const reply = await createOllamaBackend(config).generate({ prompt: 'hi' });
    assert.match(reply.text, /emulated ollama/);
    assert.equal(emu.stats().byRoute.chat, 1);
  });

  it('rejects missing required options', () => {
    assert.throws(() => createOllamaProvider({ host: '', defaultModel: 'm', timeoutMs: 1 }), /host is required/);
    assert.throws(() => createOllamaProvider({ host: 'http://x', defaultModel: '', timeoutMs: 1 }), /defaultModel is required/);
    assert.throws(() => createOllamaProvider({ host: 'http://x', defaultModel: 'm', timeoutMs: 0 }), /timeoutMs must be > 0/);
  });

  /** A provider whose chat request bodies are kept, to see what it sent. */
  function recording(host: string, model: string, extra: { numCtx?: number } = {}) {
    const chats: { think?: unknown; truncate?: unknown; options?: { num_ctx?: number; num_predict?: number } }[] = [];
    const p = createOllamaProvider({
      host,
      defaultModel: model,
      timeoutMs: 5000,
      ...extra,
      fetch: (input, init) => {
        if (String(input).endsWith('/api/chat')) chats.push(JSON.parse(String(init?.body)) as (typeof chats)[number]);
        return fetch(input, init);
      },
    });
    return { p, chats };
  }

  // gpt-oss cannot stop thinking: `think: false` is ignored, only "low" | "medium" | "high" change it
  // (ollama/ollama docs/capabilities/thinking.mdx, ollama/ollama#11751, both read 2026-12-02).
  describe('gpt-oss: thinking only in levels (issue 20 part 3)', () => {
    let oss: EmulatorHandle;
    before(async () => {
      oss = await startOllamaEmulator({ models: ['gpt-oss:20b'], thinkingTokens: 40 });
    });
    after(async () => {
      await oss.close();
    });

    it('thinking off is sent as think "low", the least it can do, so a capped answer still has room', async () => {
      const { p, chats } = recording(oss.url, 'gpt-oss:20b');
      const reply = await p.generate({ prompt: 'Tell me about queues', maxTokens: 30 });
      assert.equal(chats.length, 1);
      assert.equal(chats[0]!.think, 'low');
      // low: 10 words of reasoning (the emulator's quarter of 40), 20 left for the answer.
      assert.match(reply.text, /^\[emulated ollama gpt-oss:20b\]/);
      assert.equal(reply.outputTokens, 10 + reply.text.split(/\s+/).length);
      assert.equal(reply.thinking, undefined, 'the reasoning is not kept when the conversation did not ask for it');
    });

    it('a thinking call whose reasoning used the whole num_predict is asked once more at "low"; the tokens of both count', async () => {
      const { p, chats } = recording(oss.url, 'gpt-oss:20b');
      const reply = await p.generate({ prompt: 'Tell me about queues', maxTokens: 30, think: true });
      assert.deepEqual(
        chats.map((c) => c.think),
        [true, 'low'],
      );
      assert.match(reply.text, /^\[emulated ollama gpt-oss:20b\]/);
      assert.equal(reply.thinking!.split(/\s+/).length, 10);
      assert.equal(reply.outputTokens, 30 + 10 + reply.text.split(/\s+/).length, 'the first (all reasoning) and the second attempt');
    });

    it('already at "low" and still no answer: one call, the reply comes back empty, truncated, with its reasoning tokens', async () => {
      const { p, chats } = recording(oss.url, 'gpt-oss:20b');
      const reply = await p.generate({ prompt: 'Tell me about queues', maxTokens: 6 });
      assert.equal(chats.length, 1);
      assert.equal(reply.text, '');
      assert.equal(reply.stopReason, 'length');
      assert.equal(reply.truncated, true);
      assert.equal(reply.reasoningTokens, 6);
    });

    it('a model that can switch thinking off still gets think: false', async () => {
      const q = await startOllamaEmulator({ models: ['qwen3:0.6b'] });
      try {
        const { p, chats } = recording(q.url, 'qwen3:0.6b');
        await p.generate({ prompt: 'hi' });
        assert.equal(chats[0]!.think, false);
      } finally {
        await q.close();
      }
    });
  });

  // Ollama cuts a prompt longer than its context without an error (server/prompt.go chatPrompt,
  // `truncate` defaulting to true in api/types.go; ollama/ollama read 2026-12-02).
  describe('the context: sized from the server, never cut silently (issue 20 part 7)', () => {
    const words = (n: number, w = 'word') => Array.from({ length: n }, () => w).join(' ');
    const history = Array.from({ length: 6 }, (_, i) => ({
      role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
      content: `turn ${i} ${words(300)}`,
    }));
    /** About 6000 words: past Ollama's 4096 default. */
    const longHistory = Array.from({ length: 6 }, (_, i) => ({
      role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
      content: `turn ${i} ${words(1000)}`,
    }));

    it("a prompt longer than the server's default context (4096) is sent with a num_ctx that holds it, kept across calls (no reload)", async () => {
      const server = await startOllamaEmulator({ contextLength: 4096 });
      try {
        const { p, chats } = recording(server.url, 'llama3.2');
        const reply = await p.generate({ prompt: 'What next?', history: longHistory, maxTokens: 50 });
        assert.equal(chats.length, 1);
        const sent = chats[0]!.options!.num_ctx!;
        assert.ok(sent >= 6 * 1002 + 2 + 50 && sent <= 131072, `num_ctx ${sent}`);
        assert.equal(sent, contextStep(sent), 'a power of two');
        assert.equal(chats[0]!.truncate, false, 'v0.12.6+ takes truncate:false');
        assert.equal(reply.inputTokens, 6 * 1002 + 2, 'the whole prompt was evaluated');
        assert.equal(reply.truncated, undefined);
        assert.equal(reply.promptTruncated, undefined);
        assert.equal(await ollamaRunningContext(server.url, 'llama3.2'), sent);
        const short = await p.generate({ prompt: 'Short?' });
        assert.equal(chats[1]!.options!.num_ctx, sent, 'the same size again: a smaller one would reload the model');
        assert.equal(short.truncated, undefined);
      } finally {
        await server.close();
      }
    });

    it('a server whose default is smaller than assumed (OLLAMA_CONTEXT_LENGTH=512) refuses the prompt: sent again with a larger num_ctx, whole', async () => {
      const small = await startOllamaEmulator({ contextLength: 512 });
      try {
        const { p, chats } = recording(small.url, 'llama3.2');
        const reply = await p.generate({ prompt: 'What next?', history });
        assert.equal(chats.length, 2);
        assert.equal(chats[0]!.options!.num_ctx, undefined, 'the estimate fit the 4096 every current Ollama has at least');
        assert.equal(chats[1]!.options!.num_ctx, 8192);
        assert.equal(reply.inputTokens, 6 * 302 + 2);
        assert.equal(reply.truncated, undefined);
      } finally {
        await small.close();
      }
    });

    it('a prompt that fits the default context is sent without num_ctx (the loaded model stays as it is)', async () => {
      const { p, chats } = recording(emu.url, 'llama3.2');
      await p.generate({ prompt: 'hi' });
      assert.equal(chats[0]!.options!.num_ctx, undefined);
    });

    it("longer than the model's trained context: Ollama's 400 for truncate:false, then the cut it makes is recorded", async () => {
      const tiny = await startOllamaEmulator({ modelContexts: { 'llama3.2': 400 } });
      try {
        const { p, chats } = recording(tiny.url, 'llama3.2');
        const reply = await p.generate({ prompt: 'What next?', history: longHistory });
        assert.equal(chats.length, 2);
        assert.equal(chats[0]!.options!.num_ctx, 400, 'never more than /api/show context_length');
        assert.equal(chats[0]!.truncate, false);
        assert.equal(chats[1]!.truncate, undefined, 'then the cut is allowed, and said');
        assert.equal(reply.truncated, true);
        assert.equal(reply.promptTruncated, true);
        assert.ok(reply.inputTokens <= 400, `evaluated ${reply.inputTokens}`);
      } finally {
        await tiny.close();
      }
    });

    it('a server before v0.12.6 ignores truncate (not sent): the cut shows in prompt_eval_count and is recorded', async () => {
      const old = await startOllamaEmulator({ version: '0.12.0' });
      try {
        const { p, chats } = recording(old.url, 'llama3.2', { numCtx: 300 });
        const reply = await p.generate({ prompt: 'What next?', history });
        assert.equal(chats.length, 1);
        assert.equal(chats[0]!.truncate, undefined);
        assert.equal(chats[0]!.options!.num_ctx, 300, 'OLLAMA_NUM_CTX stays the override');
        assert.ok(reply.inputTokens < 6 * 302, `evaluated ${reply.inputTokens}`);
        assert.equal(reply.truncated, true);
        assert.equal(reply.promptTruncated, true);
      } finally {
        await old.close();
      }
    });

    it('an answer stopped at num_predict is truncated (done_reason "length"), the prompt whole', async () => {
      const reply = await provider().generate({ prompt: 'Tell me about queues', maxTokens: 3 });
      assert.equal(reply.stopReason, 'length');
      assert.equal(reply.truncated, true);
      assert.equal(reply.promptTruncated, undefined);
    });
  });

  describe('the server questions doctor reuses (providers/ollama-probe.ts)', () => {
    it('version, model facts (context length, family, thinking), running context', async () => {
      const oss = await startOllamaEmulator({ models: ['gpt-oss:20b', 'llama3.2'], version: '0.12.6' });
      try {
        assert.equal(await ollamaVersion(oss.url), '0.12.6');
        assert.deepEqual(await ollamaModelFacts(oss.url, 'gpt-oss:20b'), {
          contextLength: 131072,
          family: 'gptoss',
          capabilities: ['completion', 'tools', 'thinking'],
          thinking: true,
          thinkLevelsOnly: true,
        });
        assert.equal((await ollamaModelFacts(oss.url, 'llama3.2')).thinkLevelsOnly, false);
        assert.equal(await ollamaRunningContext(oss.url, 'llama3.2'), undefined, 'not loaded');
        await new Ollama({ host: oss.url }).chat({
          model: 'llama3.2',
          messages: [{ role: 'user', content: 'hi' }],
          options: { num_ctx: 8192 },
        });
        assert.equal(await ollamaRunningContext(oss.url, 'llama3.2:latest'), 8192);
      } finally {
        await oss.close();
      }
    });

    it('versions: truncate from 0.12.6, the smallest default context by version', () => {
      assert.equal(supportsTruncateFlag('0.12.5'), false);
      assert.equal(supportsTruncateFlag('0.12.6-rc1'), true);
      assert.equal(supportsTruncateFlag('0.33.2'), true);
      assert.equal(supportsTruncateFlag(undefined), false);
      assert.equal(versionAtLeast('1.0.0', '0.99.9'), true);
      assert.equal(smallestDefaultContext('0.6.6'), 2048);
      assert.equal(smallestDefaultContext('0.15.5'), 4096);
    });

    it('num_ctx choice and the cut check', () => {
      assert.equal(chooseNumCtx(3000, { assumedDefault: 4096 }), undefined);
      assert.equal(chooseNumCtx(5000, { assumedDefault: 4096 }), 8192);
      assert.equal(chooseNumCtx(5000, { assumedDefault: 4096, running: 32768 }), undefined, 'the loaded context holds it');
      assert.equal(chooseNumCtx(100, { assumedDefault: 4096, sent: 8192 }), 8192, 'once sent, kept');
      assert.equal(chooseNumCtx(10_000, { assumedDefault: 4096, sent: 8192, modelMax: 12_000 }), 12_000);
      assert.equal(chooseNumCtx(10_000, { assumedDefault: 4096, explicit: 2048 }), 2048);
      assert.equal(promptWasCut([{ content: 'a b c d' }], 3), true);
      assert.equal(promptWasCut([{ content: 'a b c d' }], 12), false);
      assert.equal(promptWasCut([{ content: 'a b c d' }], undefined), false);
    });
  });
});
