import assert from 'node:assert/strict';
import { Ollama, type ChatResponse } from 'ollama';
import { startOllamaEmulator, MAX_QUEUE_MESSAGE, OLLAMA_EMULATOR_VERSION, type EmulatorHandle } from '../../../emulators/ollama-emulator';

const FINAL_FIELDS = [
  'model',
  'created_at',
  'done',
  'done_reason',
  'total_duration',
  'load_duration',
  'prompt_eval_count',
  'prompt_eval_duration',
  'eval_count',
  'eval_duration',
];

async function rejection(p: Promise<unknown>): Promise<Error & { status_code?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { status_code?: number };
  }
  assert.fail('expected the call to fail');
}

describe('Ollama emulator with the real ollama client', () => {
  let emu: EmulatorHandle;
  let ollama: Ollama;

  before(async () => {
    emu = await startOllamaEmulator();
    ollama = new Ollama({ host: emu.url });
  });
  afterEach(() => {
    emu.faults.reset();
    emu.faults.resetStats();
  });
  after(async () => {
    await emu.close();
  });

  const question = [{ role: 'user', content: 'Redis keeps data in memory, which makes it fast.' }];

  describe('chat', () => {
    it('non-streaming: one deterministic, marked follow-up question with the real final fields', async () => {
      const first = await ollama.chat({
        model: 'llama3.2',
        messages: [{ role: 'system', content: 'Ask one question.' }, ...question],
        stream: false,
      });
      const again = await ollama.chat({
        model: 'llama3.2',
        messages: [{ role: 'system', content: 'Ask one question.' }, ...question],
        stream: false,
      });

      for (const f of FINAL_FIELDS) assert.ok(f in first, `final response has ${f}`);
      assert.equal(first.model, 'llama3.2');
      assert.equal(first.message.role, 'assistant');
      assert.match(first.message.content, /^\[emulated ollama llama3\.2\] .*"Redis keeps data in memory, which makes it fast\.".*\?$/);
      assert.equal(first.done, true);
      assert.equal(first.done_reason, 'stop');
      assert.equal(first.prompt_eval_count, 3 + 9);
      assert.equal(first.eval_count, first.message.content.split(/\s+/).length);
      assert.ok(first.total_duration >= first.eval_duration);
      assert.ok(!Number.isNaN(new Date(first.created_at).getTime()));
      assert.equal(again.message.content, first.message.content, 'same input, same reply');
    });

    it('streaming: word chunks that add up to the non-streamed reply, then the final chunk', async () => {
      const whole = await ollama.chat({ model: 'llama3.2', messages: question, stream: false });
      const parts: ChatResponse[] = [];
      for await (const part of await ollama.chat({ model: 'llama3.2', messages: question, stream: true })) parts.push(part);

      assert.ok(parts.length > 3);
      const last = parts.at(-1)!;
      assert.equal(
        parts.slice(0, -1).every((p) => p.done === false),
        true,
      );
      assert.equal(last.done, true);
      assert.equal(last.done_reason, 'stop');
      for (const f of FINAL_FIELDS) assert.ok(f in last, `final chunk has ${f}`);
      assert.equal(parts.map((p) => p.message.content).join(''), whole.message.content);
      assert.equal(last.eval_count, whole.eval_count);
    });

    it('honours options.num_predict: truncates and answers done_reason "length"', async () => {
      const out = await ollama.chat({ model: 'llama3.2', messages: question, options: { num_predict: 4 } });
      assert.equal(out.message.content.split(/\s+/).length, 4);
      assert.equal(out.eval_count, 4);
      assert.equal(out.done_reason, 'length');
    });

    it('options.temperature is part of the seed: same temperature same reply, other temperatures vary', async () => {
      const at = async (temperature: number) =>
        (await ollama.chat({ model: 'llama3.2', messages: question, options: { temperature } })).message.content;
      assert.equal(await at(0.7), await at(0.7));
      const replies = new Set(await Promise.all([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9, 1].map(at)));
      assert.ok(replies.size > 1, 'temperature changes the reply');
    });

    it('accepts a model name without its :latest tag and the tagged one', async () => {
      const a = await ollama.chat({ model: 'llama2', messages: question });
      const b = await ollama.chat({ model: 'llama2:latest', messages: question });
      assert.equal(a.model, 'llama2');
      assert.equal(b.model, 'llama2:latest');
    });

    // ollama/ollama server/routes.go ChatHandler: getModel fails with os.IsNotExist →
    // 404 {"error": fmt.Sprintf("model '%s' not found", req.Model)} (GenerateHandler and ShowHandler say the same).
    it("an unknown model is a ResponseError 404 with Ollama's exact wording", async () => {
      const err = await rejection(ollama.chat({ model: 'mistral', messages: question }));
      assert.equal(err.name, 'ResponseError');
      assert.equal(err.status_code, 404);
      assert.equal(err.message, "model 'mistral' not found");
      const gen = await rejection(ollama.generate({ model: 'mistral', prompt: 'hi' }));
      assert.equal(gen.message, "model 'mistral' not found");
    });

    it('an unknown model fails before streaming starts', async () => {
      const err = await rejection(ollama.chat({ model: 'mistral', messages: question, stream: true }));
      assert.equal(err.status_code, 404);
    });

    it('streams by default when the request says nothing about stream (like real Ollama)', async () => {
      const res = await fetch(`${emu.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages: question }) });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
      const lines = (await res.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { done: boolean });
      assert.ok(lines.length > 3);
      assert.equal(lines.at(-1)!.done, true);
    });

    it('a request without a model is a 400 "model is required"', async () => {
      const res = await fetch(`${emu.url}/api/chat`, { method: 'POST', body: JSON.stringify({ messages: question }) });
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: 'model is required' });
    });
  });

  describe('generate', () => {
    it('non-streaming: a marked response with context and the final fields', async () => {
      const out = await ollama.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', system: 'Be curious.', stream: false });
      for (const f of FINAL_FIELDS) assert.ok(f in out, `response has ${f}`);
      assert.match(out.response ?? '', /^\[emulated ollama llama3\.2\] .*"Why is the sky blue\?"/);
      assert.equal(out.prompt_eval_count, 2 + 5);
      assert.equal(out.done_reason, 'stop');
      assert.ok(Array.isArray(out.context) && out.context.length > 0);
    });

    it('streaming: chunks of response text, then done', async () => {
      const whole = await ollama.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?' });
      let text = '';
      let last: { done: boolean; done_reason?: string; eval_count?: number } | undefined;
      for await (const part of await ollama.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: true })) {
        text += part.response;
        last = part;
      }
      assert.equal(text, whole.response);
      assert.equal(last?.done, true);
      assert.equal(last?.done_reason, 'stop');
      assert.equal(last?.eval_count, whole.eval_count);
    });

    it('honours options.num_predict', async () => {
      const out = await ollama.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', options: { num_predict: 2 } });
      assert.equal(out.eval_count, 2);
      assert.equal(out.done_reason, 'length');
    });
  });

  describe('model listing and server info', () => {
    it('list() shows the pulled models once each, tagged', async () => {
      const { models } = await ollama.list();
      assert.deepEqual(
        models.map((m) => m.name),
        ['llama3.2:latest', 'llama2:latest'],
      );
      assert.equal(models[0]!.details.format, 'gguf');
      assert.match(models[0]!.digest, /^[0-9a-f]{64}$/);
    });

    it('version() answers the emulator version', async () => {
      assert.deepEqual(await ollama.version(), { version: OLLAMA_EMULATOR_VERSION });
    });

    it('show() describes a pulled model and 404s an unknown one', async () => {
      const info = await ollama.show({ model: 'llama3.2' });
      assert.equal(info.details.family, 'llama');
      const err = await rejection(ollama.show({ model: 'mistral' }));
      assert.equal(err.status_code, 404);
    });

    it('a custom model list replaces the default', async () => {
      const custom = await startOllamaEmulator({ models: ['qwen2.5:0.5b'] });
      try {
        const client = new Ollama({ host: custom.url });
        assert.deepEqual(
          (await client.list()).models.map((m) => m.name),
          ['qwen2.5:0.5b'],
        );
        assert.equal((await rejection(client.chat({ model: 'llama3.2', messages: question }))).status_code, 404);
      } finally {
        await custom.close();
      }
    });
  });

  // ollama/ollama server/routes.go ChatHandler: a model with the thinking capability gets
  // req.Think = true when the request says nothing; `think: true` on another model is
  // 400 "%q does not support thinking". api/types.go: Message.Thinking, ChatRequest.Think.
  describe('thinking models', () => {
    let thinker: EmulatorHandle;
    let client: Ollama;
    before(async () => {
      thinker = await startOllamaEmulator({ models: ['qwen3:0.6b', 'llama3.2'], thinkingTokens: 30 });
      client = new Ollama({ host: thinker.url });
    });
    after(async () => {
      await thinker.close();
    });

    it('thinks by default: reasoning in message.thinking, counted in eval_count, answer in content', async () => {
      const out = await client.chat({ model: 'qwen3:0.6b', messages: question, stream: false });
      assert.equal(out.message.thinking!.split(/\s+/).length, 30);
      assert.match(out.message.content, /^\[emulated ollama qwen3:0\.6b\]/);
      assert.equal(out.eval_count, 30 + out.message.content.split(/\s+/).length);
      assert.deepEqual((await client.show({ model: 'qwen3:0.6b' })).capabilities, ['completion', 'thinking']);
    });

    it('the reasoning uses num_predict: a small budget leaves content empty with done_reason "length"', async () => {
      const out = await client.chat({ model: 'qwen3:0.6b', messages: question, options: { num_predict: 20 } });
      assert.equal(out.message.content, '');
      assert.equal(out.message.thinking!.split(/\s+/).length, 20);
      assert.equal(out.done_reason, 'length');
      const cut = await client.chat({ model: 'qwen3:0.6b', messages: question, options: { num_predict: 34 } });
      assert.equal(cut.message.content.split(/\s+/).length, 4, 'only what is left after thinking');
      assert.equal(cut.done_reason, 'length');
    });

    it('think: false is honoured: no thinking, the whole budget for the answer', async () => {
      const out = await client.chat({ model: 'qwen3:0.6b', messages: question, think: false, options: { num_predict: 20 } });
      assert.equal(out.message.thinking, undefined);
      assert.equal(out.message.content.split(/\s+/).length, 20);
      assert.equal(out.eval_count, 20);
    });

    it('streams the reasoning before the answer', async () => {
      let thinking = '';
      let content = '';
      for await (const part of await client.chat({ model: 'qwen3:0.6b', messages: question, stream: true })) {
        if (part.message.thinking) assert.equal(content, '', 'thinking comes first');
        thinking += part.message.thinking ?? '';
        content += part.message.content;
      }
      assert.equal(thinking.split(/\s+/).length, 30);
      assert.ok(content.length > 0);
    });

    it("think: true on a model that cannot think is a 400 with Ollama's wording; think: false is accepted", async () => {
      const err = await rejection(client.chat({ model: 'llama3.2', messages: question, think: true }));
      assert.equal(err.status_code, 400);
      assert.equal(err.message, '"llama3.2" does not support thinking');
      assert.equal((await client.chat({ model: 'llama3.2', messages: question, think: false })).done, true);
    });
  });

  // ollama/ollama server/routes.go ChatHandler: no messages → the model is only scheduled (loaded)
  // and the answer is done_reason "load"; keep_alive 0 with no messages unloads it. api/types.go
  // Duration.UnmarshalJSON: a number is seconds, a string a Go duration, negative means forever.
  describe('cold loads and keep_alive', () => {
    let cold: EmulatorHandle;
    let client: Ollama;
    before(async () => {
      cold = await startOllamaEmulator({ coldLoadMs: 400 });
      client = new Ollama({ host: cold.url });
    });
    after(async () => {
      await cold.close();
    });
    const timed = async (keep_alive?: string | number) => {
      const started = performance.now();
      const out = await client.chat({ model: 'llama3.2', messages: question, ...(keep_alive === undefined ? {} : { keep_alive }) });
      return { ms: performance.now() - started, loadMs: out.load_duration / 1e6 };
    };

    it('the first call pays the cold load, the next one finds the model loaded', async () => {
      const first = await timed('1m');
      const second = await timed('1m');
      assert.ok(first.ms >= 395 && first.loadMs >= 400, `cold: ${first.ms.toFixed(0)} ms, load ${first.loadMs} ms`);
      assert.ok(second.ms < 300 && second.loadMs < 5, `warm: ${second.ms.toFixed(0)} ms, load ${second.loadMs} ms`);
      const ps = await client.ps();
      assert.deepEqual(
        ps.models.map((m) => m.name),
        ['llama3.2:latest'],
      );
    });

    it('keep_alive expiry makes the next call cold again', async () => {
      await timed(0.1);
      await new Promise((r) => setTimeout(r, 150));
      assert.ok((await timed('1m')).ms >= 395);
      await timed(0);
      assert.ok((await timed('1m')).ms >= 395, 'keep_alive 0 unloads at once');
    });

    it('an empty chat with keep_alive only loads the model (done_reason "load"): the warm-up', async () => {
      await client.chat({ model: 'llama2', messages: [], keep_alive: 0 });
      const warm = await client.chat({ model: 'llama2', messages: [], keep_alive: '30m' });
      assert.equal(warm.done_reason, 'load');
      assert.equal(warm.message.content, '');
      const started = performance.now();
      await client.chat({ model: 'llama2', messages: question });
      assert.ok(performance.now() - started < 300, 'the call after the warm-up is warm');
    });
  });

  // ollama/ollama server/prompt.go chatPrompt: messages are dropped from the front (system messages
  // and the last message kept) until the rendered prompt fits opts.NumCtx; nothing tells the client.
  describe('context truncation', () => {
    const history = Array.from({ length: 6 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message ${i} ${'word '.repeat(20)}`,
    }));
    const messages = [{ role: 'system', content: 'Ask one question.' }, ...history, ...question];

    it('a prompt longer than num_ctx is cut silently: prompt_eval_count is what still fits', async () => {
      const full = await ollama.chat({ model: 'llama3.2', messages });
      assert.equal(full.prompt_eval_count, 3 + 6 * 22 + 9);
      const cut = await ollama.chat({ model: 'llama3.2', messages, options: { num_ctx: 60 } });
      // system (3) + the last two history messages (2 × 22) + the question (9) = 56 ≤ 60
      assert.equal(cut.prompt_eval_count, 56);
      assert.equal(cut.done_reason, 'stop');
      assert.equal(cut.message.content, full.message.content, 'the answer gives no sign of it');
    });

    it('the default context applies without num_ctx', async () => {
      const small = await startOllamaEmulator({ contextLength: 30 });
      try {
        const out = await new Ollama({ host: small.url }).chat({ model: 'llama3.2', messages });
        // system (3) + the last history message (22) + the question (9) = 34 > 30: only system and question fit.
        assert.equal(out.prompt_eval_count, 3 + 9);
      } finally {
        await small.close();
      }
    });
  });

  describe('pull', () => {
    // ollama/ollama server/images.go PullModel: "pulling manifest", then per layer server/download.go's
    // "pulling <digest[7:19]>" with total/completed, "verifying sha256 digest", "writing manifest", "success".
    it('streams the real progress lines and the model is there afterwards', async () => {
      const fresh = await startOllamaEmulator({ models: [] });
      try {
        const client = new Ollama({ host: fresh.url });
        assert.equal((await rejection(client.show({ model: 'qwen3:0.6b' }))).status_code, 404);
        const statuses: string[] = [];
        let last = { total: 0, completed: 0 };
        for await (const p of await client.pull({ model: 'qwen3:0.6b', stream: true })) {
          statuses.push(p.status);
          if (p.digest) {
            assert.match(p.digest, /^sha256:[0-9a-f]{64}$/);
            assert.equal(p.status, `pulling ${p.digest.slice(7, 19)}`);
            assert.ok(p.completed <= p.total);
            last = p;
          }
        }
        assert.equal(statuses[0], 'pulling manifest');
        assert.deepEqual(statuses.slice(-3), ['verifying sha256 digest', 'writing manifest', 'success']);
        assert.equal(last.completed, last.total);
        assert.equal((await client.show({ model: 'qwen3:0.6b' })).details.format, 'gguf');
        assert.equal((await client.chat({ model: 'qwen3:0.6b', messages: question, think: false })).done, true);
      } finally {
        await fresh.close();
      }
    });

    it('a model the registry does not have ends the stream with the manifest error', async () => {
      const fresh = await startOllamaEmulator({ models: [], registry: ['llama3.2'] });
      try {
        const client = new Ollama({ host: fresh.url });
        const stream = await client.pull({ model: 'no-such-model', stream: true });
        const err = await rejection(
          (async () => {
            for await (const _ of stream) void _;
          })(),
        );
        assert.equal(err.message, 'pull model manifest: file does not exist');
        const whole = await rejection(client.pull({ model: 'no-such-model' }));
        assert.equal(whole.status_code, 500);
        assert.equal((await client.pull({ model: 'llama3.2' })).status, 'success');
      } finally {
        await fresh.close();
      }
    });
  });

  describe('slots (OLLAMA_NUM_PARALLEL) and the queue (OLLAMA_MAX_QUEUE)', () => {
    // ollama/ollama server/sched.go: a request beyond the pending queue gets ErrMaxQueue
    // ("server busy, please try again.  maximum pending requests exceeded"), answered 503 by server/routes.go.
    it('runs at most `slots` calls at once, queues the next ones and answers 503 beyond the queue', async () => {
      const busy = await startOllamaEmulator({ latencyMs: 150, slots: 2, maxQueue: 1 });
      try {
        const client = new Ollama({ host: busy.url });
        const ask = () => client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Hi' }], stream: false });
        const results = await Promise.allSettled([ask(), ask(), ask(), ask()]);
        const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        assert.equal(rejected.length, 1, 'two run, one waits, one is turned away');
        assert.equal((rejected[0]!.reason as { status_code?: number }).status_code, 503);
        assert.match(String((rejected[0]!.reason as Error).message), new RegExp(MAX_QUEUE_MESSAGE.replace(/\./g, '\\.')));
        assert.equal(busy.stats().maxInFlight, 2);
        assert.equal(busy.stats().inFlight, 0);
      } finally {
        await busy.close();
      }
    });

    it('without slots counts the most calls seen at once', async () => {
      const open = await startOllamaEmulator({ latencyMs: 100 });
      try {
        const client = new Ollama({ host: open.url });
        await Promise.all(
          [1, 2, 3].map(() => client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Hi' }], stream: false })),
        );
        assert.equal(open.stats().maxInFlight, 3);
      } finally {
        await open.close();
      }
    });
  });

  describe('faults', () => {
    it("a model too large for the host answers Ollama's memory 500", async () => {
      const big = await startOllamaEmulator({ tooLargeModels: ['llama3.2'] });
      try {
        const err = await rejection(new Ollama({ host: big.url }).chat({ model: 'llama3.2', messages: question }));
        assert.equal(err.status_code, 500);
        assert.match(err.message, /^model requires more system memory \([\d.]+ GiB\) than is available \([\d.]+ GiB\)$/);
      } finally {
        await big.close();
      }
    });

    it('a mid-stream error arrives after a couple of chunks and is thrown by the stream', async () => {
      emu.faults.set({ faults: [{ kind: 'midstream-error', count: 1 }] });
      const received: string[] = [];
      const stream = await ollama.chat({ model: 'llama3.2', messages: question, stream: true });
      const err = await rejection(
        (async () => {
          for await (const part of stream) received.push(part.message.content);
        })(),
      );
      assert.equal(received.length, 2);
      assert.match(err.message, /error was encountered while running the model/);
    });

    it('a mid-stream fault on a non-streaming call is a 500 with the error', async () => {
      emu.faults.set({ faults: [{ kind: 'midstream-error', count: 1 }] });
      const err = await rejection(ollama.chat({ model: 'llama3.2', messages: question, stream: false }));
      assert.equal(err.status_code, 500);
    });

    it('status faults answer {"error"} with the status', async () => {
      emu.faults.set({ faults: [{ kind: 'status', status: 503, count: 1 }] });
      const err = await rejection(ollama.chat({ model: 'llama3.2', messages: question }));
      assert.equal(err.name, 'ResponseError');
      assert.equal(err.status_code, 503);
      assert.match(err.message, /server busy/);
    });

    it('a malformed body makes the client fail to parse it', async () => {
      emu.faults.set({ faults: [{ kind: 'malformed', count: 1 }] });
      const err = await rejection(ollama.chat({ model: 'llama3.2', messages: question, stream: false }));
      assert.ok(err instanceof SyntaxError, `got ${err.name}: ${err.message}`);
    });

    it('injected latency is measured on the client side', async () => {
      const timed = async () => {
        const started = performance.now();
        await ollama.chat({ model: 'llama3.2', messages: question });
        return performance.now() - started;
      };
      const baseline = await timed();
      emu.faults.set({ latencyMs: 300 });
      const slowed = await timed();
      assert.ok(slowed >= 295, `with 300 ms latency: ${slowed.toFixed(0)} ms`);
      assert.ok(baseline < slowed, `without latency: ${baseline.toFixed(0)} ms`);
    });

    it('the control endpoint works over HTTP: set, stats, reset', async () => {
      const set = await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          faults: [
            { kind: 'status', status: 429, count: 1 },
            { kind: 'status', status: 500, model: 'llama2' },
          ],
        }),
      });
      assert.equal(set.status, 200);
      assert.equal((await rejection(ollama.chat({ model: 'llama3.2', messages: question }))).status_code, 429);
      assert.equal((await ollama.chat({ model: 'llama3.2', messages: question })).done, true);
      assert.equal((await rejection(ollama.chat({ model: 'llama2', messages: question }))).status_code, 500);

      const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as Record<string, unknown>;
      assert.deepEqual(stats, {
        calls: 3,
        byRoute: { chat: 3 },
        byModel: { 'llama3.2': 2, llama2: 1 },
        faults: 2,
        faultsByKind: { status: 2 },
        faultsByStatus: { '429': 1, '500': 1 },
        inFlight: 0,
        maxInFlight: 1,
      });

      const reset = await fetch(`${emu.url}/_emulator/faults`, { method: 'DELETE' });
      assert.equal(reset.status, 200);
      assert.equal((await ollama.chat({ model: 'llama2', messages: question })).done, true);
      const zeroed = await fetch(`${emu.url}/_emulator/stats`, { method: 'DELETE' });
      assert.equal(((await zeroed.json()) as { calls: number }).calls, 0);
    });

    it('the control endpoint rejects bad input with 400 naming the problem', async () => {
      const notJson = await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: '{oops' });
      assert.equal(notJson.status, 400);
      assert.match(((await notJson.json()) as { error: string }).error, /not JSON/);
      const badKind = await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ faults: [{ kind: 'explode' }] }),
      });
      assert.equal(badKind.status, 400);
      assert.match(((await badKind.json()) as { error: string }).error, /faults\[0\]\.kind must be one of/);
    });
  });

  // Issue 20 (parts 3 and 7): Ollama as it is in December 2026, each behaviour from ollama/ollama
  // (read 2026-12-02 at fb30760, 2026-08-21): api/types.go ThinkValue, server/routes.go,
  // server/prompt.go chatPrompt, docs/capabilities/thinking.mdx, ollama/ollama#11751.
  describe('gpt-oss thinking levels', () => {
    let oss: EmulatorHandle;
    let client: Ollama;
    before(async () => {
      oss = await startOllamaEmulator({ models: ['gpt-oss:20b', 'qwen3:0.6b'], thinkingTokens: 40 });
      client = new Ollama({ host: oss.url });
    });
    after(async () => {
      await oss.close();
    });

    it('ignores think: false (and true): it thinks at its default level, and a capped answer comes back empty, done_reason "length"', async () => {
      for (const think of [false, true, undefined]) {
        const out = await client.chat({ model: 'gpt-oss:20b', messages: question, think, stream: false, options: { num_predict: 30 } });
        assert.equal(out.message.thinking!.split(/\s+/).length, 30, `think ${String(think)}`);
        assert.equal(out.message.content, '');
        assert.equal(out.done_reason, 'length');
      }
      // qwen3 honours think: false.
      assert.equal(
        (await client.chat({ model: 'qwen3:0.6b', messages: question, think: false, stream: false })).message.thinking,
        undefined,
      );
    });

    it('the levels set how long it thinks ("max" is "high", v0.21.3+)', async () => {
      const len = async (think: 'low' | 'medium' | 'high' | 'max') =>
        (await client.chat({ model: 'gpt-oss:20b', messages: question, think: think as 'low', stream: false })).message.thinking!.split(
          /\s+/,
        ).length;
      assert.equal(await len('low'), 10);
      assert.equal(await len('medium'), 40);
      assert.equal(await len('high'), 80);
      assert.equal(await len('max'), 80);
    });

    it('an unknown level is a 400 with the decoder\'s wording; before v0.21.3 "max" is unknown too', async () => {
      const bad = await fetch(`${oss.url}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-oss:20b', messages: question, think: 'none', stream: false }),
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(await bad.json(), { error: 'invalid think value: "none" (must be "high", "medium", "low", "max", true, or false)' });
      const older = await startOllamaEmulator({ models: ['gpt-oss:20b'], version: '0.12.6' });
      try {
        const r = await fetch(`${older.url}/api/chat`, {
          method: 'POST',
          body: JSON.stringify({ model: 'gpt-oss:20b', messages: question, think: 'max', stream: false }),
        });
        assert.equal(r.status, 400);
      } finally {
        await older.close();
      }
    });

    it('/api/show: the gptoss architecture, its trained context and the thinking capability', async () => {
      const show = await client.show({ model: 'gpt-oss:20b' });
      const info = show.model_info as unknown as Record<string, unknown>;
      assert.equal(info['general.architecture'], 'gptoss');
      assert.equal(info['gptoss.context_length'], 131072);
      assert.ok(show.capabilities.includes('thinking'));
      assert.equal((await client.show({ model: 'qwen3:0.6b' })).model_info['qwen3.context_length' as never], 40960);
    });
  });

  describe('context per call (num_ctx, default, trained), /api/ps and truncate', () => {
    const long = [
      { role: 'system', content: 'Ask one question.' },
      { role: 'user', content: 'word '.repeat(200) },
      { role: 'assistant', content: 'ok' },
      ...question,
    ];

    it('/api/ps reports the context the model was loaded with; another num_ctx reloads it', async () => {
      const cold = await startOllamaEmulator({ coldLoadMs: 200 });
      try {
        const c = new Ollama({ host: cold.url });
        await c.chat({ model: 'llama3.2', messages: question, options: { num_ctx: 8192 } });
        assert.equal(((await c.ps()).models[0] as unknown as { context_length: number }).context_length, 8192);
        let t = performance.now();
        await c.chat({ model: 'llama3.2', messages: question, options: { num_ctx: 8192 } });
        assert.ok(performance.now() - t < 150, 'same context: warm');
        t = performance.now();
        const reloaded = await c.chat({ model: 'llama3.2', messages: question, options: { num_ctx: 16384 } });
        assert.ok(performance.now() - t >= 190, 'another context: reloaded');
        assert.ok(reloaded.load_duration >= 190_000_000);
        assert.equal(((await c.ps()).models[0] as unknown as { context_length: number }).context_length, 16384);
      } finally {
        await cold.close();
      }
    });

    it("num_ctx is capped at the model's trained context (llama2: 4096)", async () => {
      const out = await ollama.chat({
        model: 'llama2',
        messages: [{ role: 'user', content: 'word '.repeat(5000) }],
        options: { num_ctx: 100_000 },
      });
      assert.ok(out.prompt_eval_count <= 4096, `evaluated ${out.prompt_eval_count}`);
    });

    it('truncate: false on a prompt longer than the context: 400 by version; before v0.12.6 the field is ignored and the prompt cut', async () => {
      const body = (truncate: boolean) =>
        JSON.stringify({ model: 'llama3.2', messages: long, stream: false, truncate, options: { num_ctx: 100 } });
      for (const [version, expected] of [
        ['0.12.6', 'the input length exceeds the context length'],
        [
          '0.33.2',
          JSON.stringify({
            error: {
              code: 400,
              message: 'request (213 tokens) exceeds the available context size (100 tokens), try increasing it',
              type: 'exceed_context_size_error',
            },
          }),
        ],
      ] as const) {
        const e = await startOllamaEmulator({ version });
        try {
          const r = await fetch(`${e.url}/api/chat`, { method: 'POST', body: body(false) });
          assert.equal(r.status, 400, version);
          assert.deepEqual(await r.json(), { error: expected });
          const allowed = await fetch(`${e.url}/api/chat`, { method: 'POST', body: body(true) });
          assert.equal(
            ((await allowed.json()) as { prompt_eval_count: number }).prompt_eval_count,
            3 + 1 + 9,
            'truncate: true cuts (the system message and the last kept)',
          );
        } finally {
          await e.close();
        }
      }
      const old = await startOllamaEmulator({ version: '0.12.0' });
      try {
        const r = await fetch(`${old.url}/api/chat`, { method: 'POST', body: body(false) });
        assert.equal(r.status, 200);
        assert.equal(((await r.json()) as { prompt_eval_count: number }).prompt_eval_count, 13);
        assert.deepEqual(await new Ollama({ host: old.url }).version(), { version: '0.12.0' });
      } finally {
        await old.close();
      }
    });
  });
});
