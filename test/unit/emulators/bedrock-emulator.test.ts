import assert from 'node:assert/strict';
import { BedrockRuntimeClient, ConverseCommand, InvokeModelCommand, type ConverseCommandInput } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startBedrockEmulator, type EmulatorHandle } from '../../../emulators/bedrock-emulator';

const MODEL = 'amazon.nova-micro-v1:0';

function clientFor(emu: EmulatorHandle, maxAttempts = 1): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: emu.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts,
  });
}

function converseInput(text: string, extra: Partial<ConverseCommandInput> = {}): ConverseCommandInput {
  return { modelId: MODEL, messages: [{ role: 'user', content: [{ text }] }], ...extra };
}

type SdkError = Error & { $metadata?: { httpStatusCode?: number } };

async function rejection(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  assert.fail('expected the call to fail');
}

describe('Bedrock emulator with the real @aws-sdk/client-bedrock-runtime', () => {
  let emu: EmulatorHandle;
  let client: BedrockRuntimeClient;

  before(async () => {
    emu = await startBedrockEmulator();
    client = clientFor(emu);
  });
  afterEach(() => {
    emu.faults.reset();
    emu.faults.resetStats();
  });
  after(async () => {
    client.destroy();
    await emu.close();
  });

  describe('Converse', () => {
    it('answers a deterministic, marked reply with word-count usage and end_turn', async () => {
      const input = converseInput('What makes Redis fast?', { system: [{ text: 'Be brief.' }] });
      const first = await client.send(new ConverseCommand(input));
      const second = await client.send(new ConverseCommand(input));

      const text = first.output?.message?.content?.[0]?.text ?? '';
      assert.match(text, /^\[emulated bedrock amazon\.nova-micro-v1:0\] You asked: "What makes Redis fast\?"/);
      assert.equal(first.output?.message?.role, 'assistant');
      assert.equal(first.stopReason, 'end_turn');
      assert.equal(first.usage?.inputTokens, 6); // "Be brief." + "What makes Redis fast?"
      assert.equal(first.usage?.outputTokens, text.split(/\s+/).length);
      assert.equal(first.usage?.totalTokens, 6 + text.split(/\s+/).length);
      assert.equal(typeof first.metrics?.latencyMs, 'number');
      assert.equal(first.$metadata.httpStatusCode, 200);
      assert.equal(second.output?.message?.content?.[0]?.text, text, 'same input, same reply');
    });

    it('answers about the last user message of a multi-turn conversation', async () => {
      const out = await client.send(
        new ConverseCommand({
          modelId: MODEL,
          messages: [
            { role: 'user', content: [{ text: 'first question' }] },
            { role: 'assistant', content: [{ text: 'first answer' }] },
            { role: 'user', content: [{ text: 'second question' }] },
          ],
        }),
      );
      assert.match(out.output?.message?.content?.[0]?.text ?? '', /You asked: "second question"/);
      assert.equal(out.usage?.inputTokens, 6);
    });

    it('truncates to inferenceConfig.maxTokens words and reports max_tokens', async () => {
      const out = await client.send(
        new ConverseCommand(converseInput('Explain queues in depth', { inferenceConfig: { maxTokens: 5, temperature: 0.2 } })),
      );
      const text = out.output?.message?.content?.[0]?.text ?? '';
      assert.equal(text.split(/\s+/).length, 5);
      assert.equal(out.usage?.outputTokens, 5);
      assert.equal(out.stopReason, 'max_tokens');
    });

    it('receives the URL-encoded model id decoded (ids contain ":")', async () => {
      await client.send(new ConverseCommand(converseInput('hi')));
      assert.deepEqual(emu.stats().byModel, { [MODEL]: 1 });
      assert.deepEqual(emu.stats().byRoute, { converse: 1 });
    });

    const invalid: Array<[string, Partial<ConverseCommandInput>, RegExp]> = [
      ['temperature above 1', { inferenceConfig: { temperature: 1.5 } }, /inferenceConfig\.temperature.*less than or equal to 1/],
      ['temperature below 0', { inferenceConfig: { temperature: -0.1 } }, /inferenceConfig\.temperature.*greater than or equal to 0/],
      ['maxTokens below 1', { inferenceConfig: { maxTokens: 0 } }, /inferenceConfig\.maxTokens.*greater than or equal to 1/],
      ['no messages', { messages: [] }, /must start with a user message/],
      [
        'a first message from the assistant',
        { messages: [{ role: 'assistant', content: [{ text: 'x' }] }] },
        /must start with a user message/,
      ],
      [
        'two user messages in a row',
        {
          messages: [
            { role: 'user', content: [{ text: 'a' }] },
            { role: 'user', content: [{ text: 'b' }] },
          ],
        },
        /must alternate between user and assistant/,
      ],
    ];
    for (const [what, extra, message] of invalid) {
      it(`rejects ${what} with ValidationException (400)`, async () => {
        const err = await rejection(client.send(new ConverseCommand(converseInput('q', extra))));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.$metadata?.httpStatusCode, 400);
        assert.match(err.message, message);
      });
    }
  });

  describe('injected errors surface as the SDK exception classes', () => {
    const cases: Array<[string, Record<string, unknown>, number]> = [
      ['ThrottlingException', { kind: 'status', status: 429 }, 429],
      ['ValidationException', { kind: 'validation' }, 400],
      ['ServiceUnavailableException', { kind: 'status', status: 503 }, 503],
      ['InternalServerException', { kind: 'status', status: 500 }, 500],
      ['ModelNotReadyException', { kind: 'status', status: 429, errorType: 'ModelNotReadyException' }, 429],
      ['ResourceNotFoundException', { kind: 'status', status: 404 }, 404],
    ];
    for (const [name, fault, status] of cases) {
      it(`${name} (${status})`, async () => {
        emu.faults.set({ faults: [{ ...(fault as { kind: 'status' }), count: 1 }] });
        const err = await rejection(client.send(new ConverseCommand(converseInput('q'))));
        assert.equal(err.name, name);
        assert.equal(err.$metadata?.httpStatusCode, status);
        assert.match(err.message, /emulated fault/);
        assert.equal(emu.stats().calls, 1, 'maxAttempts 1: no SDK retry');
        const ok = await client.send(new ConverseCommand(converseInput('q')));
        assert.equal(ok.stopReason, 'end_turn', 'count: 1 applies to one call only');
      });
    }

    it('a custom message is passed through', async () => {
      emu.faults.set({ faults: [{ kind: 'status', status: 429, count: 1, message: 'Rate exceeded' }] });
      const err = await rejection(client.send(new ConverseCommand(converseInput('q'))));
      assert.equal(err.message, 'Rate exceeded');
    });

    it('the SDK retries retryable faults by itself (default attempts) and then succeeds', async () => {
      const retrying = clientFor(emu, 3);
      try {
        emu.faults.set({ faults: [{ kind: 'status', status: 503, count: 2 }] });
        const out = await retrying.send(new ConverseCommand(converseInput('q')));
        assert.equal(out.$metadata.attempts, 3);
        assert.equal(emu.stats().calls, 3);
        assert.deepEqual(emu.stats().faultsByStatus, { '503': 2 });
      } finally {
        retrying.destroy();
      }
    });

    it('faults limited to a model leave other models alone', async () => {
      emu.faults.set({ faults: [{ kind: 'status', status: 503, model: 'other-model' }] });
      const ok = await client.send(new ConverseCommand(converseInput('q')));
      assert.equal(ok.stopReason, 'end_turn');
      const err = await rejection(client.send(new ConverseCommand(converseInput('q', { modelId: 'other-model' }))));
      assert.equal(err.name, 'ServiceUnavailableException');
    });

    it('a malformed (non-JSON) 200 body makes the SDK throw a deserialization error', async () => {
      emu.faults.set({ faults: [{ kind: 'malformed', count: 1 }] });
      const err = await rejection(client.send(new ConverseCommand(converseInput('q'))));
      assert.equal(err.$metadata?.httpStatusCode, 200);
      assert.match(err.message, /not valid JSON|Deserialization/);
    });

    it('a body cut off mid-way makes the SDK throw a connection error', async () => {
      emu.faults.set({ faults: [{ kind: 'midstream-error', count: 1 }] });
      const err = await rejection(client.send(new ConverseCommand(converseInput('q'))));
      assert.equal((err as { code?: string }).code, 'ECONNRESET');
    });

    it('a hang holds the call until the caller aborts it with an AbortController', async () => {
      emu.faults.set({ faults: [{ kind: 'hang', count: 1 }] });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      const err = await rejection(client.send(new ConverseCommand(converseInput('q')), { abortSignal: controller.signal }));
      clearTimeout(timer);
      const elapsed = Date.now() - started;
      assert.equal(err.name, 'AbortError');
      assert.ok(elapsed >= 190 && elapsed < 2000, `aborted after ${elapsed} ms`);
      assert.deepEqual(emu.stats().faultsByKind, { hang: 1 });
      const ok = await client.send(new ConverseCommand(converseInput('q')));
      assert.equal(ok.stopReason, 'end_turn', 'the emulator keeps serving after a hang');
    });

    it('injected latency delays the answer by about that long', async () => {
      emu.faults.set({ latencyMs: 250 });
      const started = Date.now();
      const out = await client.send(new ConverseCommand(converseInput('q')));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 245, `answered after ${elapsed} ms`);
      assert.ok((out.metrics?.latencyMs ?? 0) >= 245, `metrics.latencyMs ${out.metrics?.latencyMs}`);
    });
  });

  describe('InvokeModel', () => {
    const anthropic = (body: Record<string, unknown>) =>
      new InvokeModelCommand({ modelId: MODEL, contentType: 'application/json', accept: 'application/json', body: JSON.stringify(body) });

    it('answers an Anthropic messages body with an Anthropic messages response', async () => {
      const out = await client.send(
        anthropic({
          anthropic_version: 'bedrock-2023-05-31',
          max_tokens: 200,
          system: 'Be brief.',
          messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
        }),
      );
      const json = JSON.parse(new TextDecoder().decode(out.body)) as Record<string, unknown> & {
        content: Array<{ type: string; text: string }>;
        usage: Record<string, number>;
      };
      assert.equal(out.contentType, 'application/json');
      assert.equal(json.type, 'message');
      assert.equal(json.role, 'assistant');
      assert.equal(json.model, MODEL);
      assert.equal(json.content[0]!.type, 'text');
      assert.match(json.content[0]!.text, /^\[emulated bedrock [^\]]+\] You asked: "Hello there"/);
      assert.equal(json.stop_reason, 'end_turn');
      assert.equal(json.stop_sequence, null);
      assert.deepEqual(json.usage, { input_tokens: 4, output_tokens: json.content[0]!.text.split(/\s+/).length });
    });

    it('honours max_tokens with stop_reason max_tokens', async () => {
      const out = await client.send(
        anthropic({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 3, messages: [{ role: 'user', content: 'Hello there' }] }),
      );
      const json = JSON.parse(new TextDecoder().decode(out.body)) as { stop_reason: string; usage: { output_tokens: number } };
      assert.equal(json.stop_reason, 'max_tokens');
      assert.equal(json.usage.output_tokens, 3);
    });

    it('rejects a body without anthropic_version with ValidationException', async () => {
      const err = await rejection(client.send(anthropic({ max_tokens: 3, messages: [{ role: 'user', content: 'x' }] })));
      assert.equal(err.name, 'ValidationException');
      assert.match(err.message, /required key \[anthropic_version\]/);
    });

    it('counts invoke calls on their own route', async () => {
      await client.send(anthropic({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 3, messages: [{ role: 'user', content: 'x' }] }));
      assert.deepEqual(emu.stats().byRoute, { invoke: 1 });
    });
  });

  describe('control endpoint over HTTP', () => {
    it('POST /_emulator/faults arms faults, GET /_emulator/stats counts them, DELETE resets', async () => {
      const set = await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ faults: [{ kind: 'status', status: 429, count: 1 }] }),
      });
      assert.equal(set.status, 200);
      const err = await rejection(client.send(new ConverseCommand(converseInput('q'))));
      assert.equal(err.name, 'ThrottlingException');
      const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as { calls: number; faultsByKind: Record<string, number> };
      assert.equal(stats.calls, 1);
      assert.deepEqual(stats.faultsByKind, { status: 1 });

      await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ faults: [{ kind: 'status', status: 503 }] }) });
      const del = await fetch(`${emu.url}/_emulator/faults`, { method: 'DELETE' });
      assert.deepEqual(await del.json(), { latencyMs: 0, faults: [] });
      const ok = await client.send(new ConverseCommand(converseInput('q')));
      assert.equal(ok.stopReason, 'end_turn');
    });

    it('rejects an invalid fault description with 400 naming the field', async () => {
      const res = await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ faults: [{ kind: 'status', status: 429, rate: 2 }] }),
      });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /faults\[0\]\.rate/);
    });
  });
});

describe('Bedrock emulator lifecycle', () => {
  it('close() ends a held (hung) request at once instead of waiting for it', async () => {
    const emu = await startBedrockEmulator({ faults: [{ kind: 'hang' }] });
    const pending = fetch(`${emu.url}/model/m/converse`, { method: 'POST', body: '{}' }).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await emu.close();
    assert.ok(Date.now() - started < 1000);
    assert.equal(await pending, 'failed');
  });

  it('starting with faults applies them from the first call and reset() restores them', async () => {
    const emu = await startBedrockEmulator({ faults: [{ kind: 'status', status: 503 }] });
    const client = clientFor(emu);
    try {
      assert.equal((await rejection(client.send(new ConverseCommand(converseInput('q'))))).name, 'ServiceUnavailableException');
      emu.faults.set({ faults: [] });
      assert.equal((await client.send(new ConverseCommand(converseInput('q')))).stopReason, 'end_turn');
      emu.faults.reset();
      assert.equal((await rejection(client.send(new ConverseCommand(converseInput('q'))))).name, 'ServiceUnavailableException');
    } finally {
      client.destroy();
      await emu.close();
    }
  });
});

describe('HTTP/2 decision: the SDK default handler cannot talk to the HTTP/1.1 emulator', () => {
  it('the default NodeHttp2Handler fails with a protocol error, NodeHttpHandler works', async function () {
    this.timeout(10_000);
    const emu = await startBedrockEmulator();
    // No requestHandler: the client's default, NodeHttp2Handler (HTTP/2 prior knowledge over cleartext).
    const h2 = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    const h1 = clientFor(emu);
    try {
      const err = await rejection(h2.send(new ConverseCommand(converseInput('q')), { abortSignal: AbortSignal.timeout(5000) }));
      assert.notEqual(err.name, 'TimeoutError', 'it should fail fast, not hang');
      assert.match(`${(err as { code?: string }).code} ${err.message}`, /ERR_HTTP2|Protocol error/);
      const ok = await h1.send(new ConverseCommand(converseInput('q')));
      assert.equal(ok.stopReason, 'end_turn');
    } finally {
      h2.destroy();
      h1.destroy();
      await emu.close();
    }
  });
});
