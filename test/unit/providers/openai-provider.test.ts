/**
 * The OpenAI-compatible local backend (providers/openai-provider.ts) through the real `openai`
 * client against the OpenAI emulator (emulators/openai-emulator.ts), and the emulator's own
 * answers as the OpenAI API reference gives them (error body `{"error": {message, type, param, code}}`).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startOpenAiEmulator, type EmulatorHandle } from '../../../emulators/openai-emulator';
import { createOpenAiProvider } from '../../../providers/openai-provider';
import { probeOpenAi } from '../../../providers/provider-registry';
import { ProviderError } from '../../../shared/errors';

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('OpenAI-compatible provider against the OpenAI emulator (real openai client)', () => {
  let emu: EmulatorHandle;
  let baseURL: string;
  const provider = (opts: { apiKey?: string; timeoutMs?: number; model?: string } = {}) =>
    createOpenAiProvider({
      baseURL,
      apiKey: opts.apiKey ?? 'sk-test-key-123456',
      defaultModel: opts.model ?? 'llama3.2',
      timeoutMs: opts.timeoutMs ?? 5000,
    });

  before(async () => {
    emu = await startOpenAiEmulator({ models: ['llama3.2', 'qwen3:8b'], apiKey: 'sk-test-key-123456' });
    baseURL = `${emu.url}/v1`;
  });
  afterEach(() => {
    emu.faults.reset();
    emu.faults.resetStats();
  });
  after(async () => {
    await emu?.close();
  });

  it('answers with text, usage and stopReason, system and history sent as messages', async () => {
    const reply = await provider().generate({
      prompt: 'What is Redis?',
      system: 'Be brief.',
      history: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello there' },
      ],
    });
    assert.match(reply.text, /^\[emulated openai llama3\.2\] .*What is Redis\?/);
    assert.equal(reply.model, 'llama3.2');
    assert.equal(reply.stopReason, 'stop');
    // Words of every message: "Be brief." 2 + "Hi" 1 + "Hello there" 2 + "What is Redis?" 3.
    assert.equal(reply.inputTokens, 8);
    assert.equal(reply.outputTokens, reply.text.split(/\s+/).length);
    assert.equal(reply.truncated, undefined);
  });

  it('a call naming another model uses it', async () => {
    const reply = await provider().generate({ prompt: 'Hi', model: 'qwen3:8b' });
    assert.equal(reply.model, 'qwen3:8b');
    assert.deepEqual(emu.stats().byModel, { 'qwen3:8b': 1 });
  });

  it('finish_reason "length" (max_tokens reached) → truncated, stopReason length', async () => {
    const reply = await provider().generate({ prompt: 'Tell me everything about Redis', maxTokens: 3 });
    assert.equal(reply.stopReason, 'length');
    assert.equal(reply.truncated, true);
    assert.equal(reply.outputTokens, 3);
  });

  it('an unknown model: 404 model_not_found → permanent model_not_found naming OPENAI_MODEL', async () => {
    const err = await rejection(provider().generate({ prompt: 'Hi', model: 'nope' }));
    assert.equal(err.code, 'model_not_found');
    assert.equal(err.retryable, false);
    assert.equal(err.status, 404);
    assert.match(err.message, /The model `nope` does not exist/);
    assert.match(err.message, /OPENAI_MODEL/);
  });

  it('a wrong key: 401 invalid_api_key → permanent auth_failed naming OPENAI_API_KEY', async () => {
    const err = await rejection(provider({ apiKey: 'sk-wrong-key-000000' }).generate({ prompt: 'Hi' }));
    assert.equal(err.code, 'auth_failed');
    assert.equal(err.retryable, false);
    assert.equal(err.status, 401);
    assert.match(err.message, /OPENAI_API_KEY/);
    assert.deepEqual((err.details as { code?: string }).code, 'invalid_api_key');
  });

  it('429 rate limit → retryable throttled (one call: the client does not retry, maxRetries 0)', async () => {
    emu.faults.set({ faults: [{ kind: 'status', status: 429, count: 1 }] });
    const err = await rejection(provider().generate({ prompt: 'Hi' }));
    assert.equal(err.code, 'throttled');
    assert.equal(err.retryable, true);
    assert.equal(err.status, 429);
    assert.equal(emu.stats().calls, 1);
  });

  it('500 / 503 → retryable upstream_unavailable; a 400 → permanent invalid_request', async () => {
    for (const status of [500, 503]) {
      emu.faults.set({ faults: [{ kind: 'status', status, count: 1 }] });
      const err = await rejection(provider().generate({ prompt: 'Hi' }));
      assert.equal(err.code, 'upstream_unavailable', `status ${status}`);
      assert.equal(err.retryable, true);
      assert.equal(err.status, status);
    }
    const bad = await rejection(provider().generate({ prompt: 'Hi', temperature: 5 }));
    assert.equal(bad.code, 'invalid_request');
    assert.equal(bad.retryable, false);
    assert.equal((bad.details as { param?: string }).param, 'temperature');
  });

  it('a body that is not JSON → retryable bad_response (counts against the endpoint in the pool)', async () => {
    emu.faults.set({ faults: [{ kind: 'malformed', count: 1 }] });
    const err = await rejection(provider().generate({ prompt: 'Hi' }));
    assert.equal(err.code, 'bad_response');
    assert.equal(err.retryable, true);
  });

  it('a hung server: the per-call timeout → retryable timeout naming OPENAI_TIMEOUT_MS', async () => {
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
    const started = Date.now();
    const err = await rejection(provider({ timeoutMs: 300 }).generate({ prompt: 'Hi' }));
    assert.equal(err.code, 'timeout');
    assert.equal(err.retryable, true);
    assert.match(err.message, /OPENAI_TIMEOUT_MS/);
    assert.ok(Date.now() - started < 2000);
  });

  it('the call signal aborts a running call: AbortError, aborted, not retryable', async () => {
    emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by the user')), 100);
    const err = await rejection(provider().generate({ prompt: 'Hi', signal: controller.signal }));
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'aborted');
    assert.equal(err.retryable, false);
    assert.match(err.message, /cancelled by the user/);
    // An already aborted signal never sends.
    const before = emu.stats().calls;
    await rejection(provider().generate({ prompt: 'Hi', signal: AbortSignal.abort() }));
    assert.equal(emu.stats().calls, before);
  });

  it('nothing listening → retryable connection_error naming OPENAI_BASE_URL', async () => {
    const p = createOpenAiProvider({ baseURL: `http://127.0.0.1:${await closedPort()}/v1`, defaultModel: 'm', timeoutMs: 2000 });
    const err = await rejection(p.generate({ prompt: 'Hi' }));
    assert.equal(err.code, 'connection_error');
    assert.equal(err.retryable, true);
    assert.match(err.message, /OPENAI_BASE_URL/);
  });

  it('the emulator speaks the OpenAI API: /v1/models, error bodies, auth', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'sk-test-key-123456', maxRetries: 0 });
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['llama3.2', 'qwen3:8b'],
    );
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-key-123456', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gone', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), {
      error: {
        message: 'The model `gone` does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      },
    });
    const noKey = await fetch(`${baseURL}/models`);
    assert.equal(noKey.status, 401);
    const missing = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-key-123456' },
      body: JSON.stringify({ model: 'llama3.2' }),
    });
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { error: { param: string } }).error.param, 'messages');
    // The pool's health probe: the model listed passes, another fails.
    await probeOpenAi(baseURL, 'llama3.2', 'sk-test-key-123456');
    await assert.rejects(probeOpenAi(baseURL, 'absent', 'sk-test-key-123456'), /has no model "absent"/);
  });
});
