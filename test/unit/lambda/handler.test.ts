import assert from 'node:assert/strict';
import { startBedrockEmulator, type EmulatorHandle } from '../../../emulators/bedrock-emulator';
import { decodeResponse, decodeResponseBase64, encodeRequestBase64, type LlmRequest, type LlmResponse } from '../../../proto/codec';
import { loadConfig } from '../../../shared/config';
import { silentLogger } from '../../../shared/logger';
import { createBedrockConverse } from '../../../bedrock/bedrock-client';
import { createHandler } from '../../../lambda/handler';
import type { ProxyHandler, ProxyResult } from '../../../lambda/proxy-types';
import { v1Event, v2Event, type BodyMode } from '../../helpers/proxy-events';

const DEFAULT_MODEL = 'amazon.nova-micro-v1:0';

/** The LlmResponse in a result, whichever way its body is flagged. */
function responseOf(result: ProxyResult): LlmResponse {
  assert.equal(result.headers?.['Content-Type'], 'application/x-protobuf');
  return decodeResponseBase64(result.body);
}

function errorOf(result: ProxyResult, status: number) {
  assert.equal(result.statusCode, status, `expected ${status}, got ${result.statusCode}: ${result.body}`);
  const res = responseOf(result);
  assert.ok(res.error, 'the reply carries an error detail');
  assert.equal(res.error.status, status);
  return res.error;
}

describe('lambda handler (real SDK against the Bedrock emulator)', () => {
  let emu: EmulatorHandle;
  let handler: ProxyHandler;

  before(async () => {
    emu = await startBedrockEmulator({ port: 0 });
    const converse = createBedrockConverse({
      region: 'us-east-1',
      endpoint: emu.url,
      defaultModelId: DEFAULT_MODEL,
      requestTimeoutMs: 5_000,
    });
    handler = createHandler({ converse, logger: silentLogger });
  });
  afterEach(() => emu.faults.reset());
  after(async () => {
    await emu.close();
  });

  const request: LlmRequest = { inputText: 'What is a Redis stream?', conversationId: 'conv-1', turn: 3 };

  describe('accepted events', () => {
    const cases: Array<[string, typeof v1Event | typeof v2Event, BodyMode]> = [
      ['v1, isBase64Encoded false (base64 text)', v1Event, 'text'],
      ['v1, isBase64Encoded true (base64 text inside the envelope)', v1Event, 'double'],
      ['v1, isBase64Encoded true (raw protobuf inside the envelope)', v1Event, 'raw'],
      ['v2, isBase64Encoded false (base64 text)', v2Event, 'text'],
      ['v2, isBase64Encoded true (base64 text inside the envelope)', v2Event, 'double'],
      ['v2, isBase64Encoded true (raw protobuf inside the envelope)', v2Event, 'raw'],
    ];
    for (const [name, make, mode] of cases) {
      it(`answers 200 with the Bedrock reply for ${name}`, async () => {
        const result = await handler(make({ request, mode }));
        assert.equal(result.statusCode, 200, result.body);
        const res = responseOf(result);
        assert.match(res.outputText, /^\[emulated bedrock amazon\.nova-micro-v1:0\]/);
        assert.match(res.outputText, /What is a Redis stream\?/);
        assert.equal(res.modelId, DEFAULT_MODEL);
        assert.ok((res.inputTokens ?? 0) > 0 && (res.outputTokens ?? 0) > 0);
        assert.equal(res.stopReason, 'end_turn');
        assert.deepEqual(res.tokens, res.outputText.split(/\s+/).filter(Boolean));
        assert.equal(res.conversationId, 'conv-1');
        assert.equal(res.turn, 3);
        assert.equal(res.error, undefined);
      });
    }

    it('flags the reply binary only for clients whose first Accept type is protobuf', async () => {
      const binary = await handler(v1Event({ request, headers: { Accept: 'application/x-protobuf' } }));
      assert.equal(binary.isBase64Encoded, true);
      const text = await handler(v1Event({ request }));
      assert.equal(text.isBase64Encoded, false);
      const wildcard = await handler(v2Event({ request, headers: { accept: '*/*' } }));
      assert.equal(wildcard.isBase64Encoded, false);
      for (const r of [binary, text, wildcard]) assert.match(decodeResponseBase64(r.body).outputText, /emulated bedrock/);
    });

    it('uses the model, system prompt, history and max_tokens the request names', async () => {
      const res = responseOf(
        await handler(
          v2Event({
            request: {
              inputText: 'And then?',
              modelId: 'amazon.nova-lite-v1:0',
              systemPrompt: 'Be brief.',
              history: [
                { role: 'user', content: 'Hi' },
                { role: 'assistant', content: 'Hello' },
              ],
              parameters: { max_tokens: '5', temperature: '0.2' },
            },
          }),
        ),
      );
      assert.equal(res.modelId, 'amazon.nova-lite-v1:0');
      assert.match(res.outputText, /^\[emulated bedrock amazon\.nova-lite-v1:0\]/);
      assert.equal(res.stopReason, 'max_tokens');
      assert.equal(res.outputTokens, 5);
      const stats = emu.stats() as { byModel: Record<string, number> };
      assert.ok((stats.byModel['amazon.nova-lite-v1:0'] ?? 0) >= 1);
    });
  });

  describe('bad input → 400 naming the fault', () => {
    it('rejects bytes that are not a protobuf LlmRequest with invalid_protobuf', async () => {
      const body = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]).toString('base64');
      const detail = errorOf(await handler(v1Event({ body })), 400);
      assert.equal(detail.code, 'invalid_protobuf');
      assert.equal(detail.retryable === true, false);
    });

    it('rejects a body that is not base64 with invalid_base64', async () => {
      const detail = errorOf(await handler(v1Event({ body: '%%% not base64 %%%' })), 400);
      assert.equal(detail.code, 'invalid_base64');
    });

    const invalid: Array<[string, LlmRequest, RegExp]> = [
      [
        'temperature above 1',
        { inputText: 'q', parameters: { temperature: '1.5' } },
        /^parameters\.temperature must be a number between 0 and 1, got "1\.5"/,
      ],
      ['temperature not a number', { inputText: 'q', parameters: { temperature: 'warm' } }, /^parameters\.temperature /],
      [
        'max_tokens 0',
        { inputText: 'q', parameters: { max_tokens: '0' } },
        /^parameters\.max_tokens must be an integer between 1 and 200000/,
      ],
      ['max_tokens 9000', { inputText: 'q', parameters: { max_tokens: '9000' } }, /^parameters\.max_tokens /],
      ['max_tokens fractional', { inputText: 'q', parameters: { max_tokens: '2.5' } }, /^parameters\.max_tokens /],
      ['empty input_text', { inputText: '   ' }, /^input_text must not be empty/],
      ['input_text over 100k characters', { inputText: 'x'.repeat(100_001) }, /^input_text must be at most 100000 characters/],
      [
        'a history role that is not user/assistant',
        {
          inputText: 'q',
          history: [
            { role: 'system' as 'user', content: 'x' },
            { role: 'assistant', content: 'y' },
          ],
        },
        /^history\[0\]\.role must be "user" or "assistant"/,
      ],
      [
        'history not alternating',
        {
          inputText: 'q',
          history: [
            { role: 'user', content: 'x' },
            { role: 'user', content: 'y' },
          ],
        },
        /^history\[1\]\.role must be "assistant"/,
      ],
    ];
    for (const [name, req, message] of invalid) {
      it(`rejects ${name}`, async () => {
        const calls = (emu.stats() as { calls: number }).calls;
        const detail = errorOf(await handler(v1Event({ request: req })), 400);
        assert.equal(detail.code, 'invalid_request');
        assert.match(detail.message, message);
        assert.equal((emu.stats() as { calls: number }).calls, calls, 'Bedrock was not called');
      });
    }

    it('answers JSON errors to a client that accepts JSON', async () => {
      const result = await handler(
        v1Event({ request: { inputText: 'q', parameters: { temperature: '7' } }, headers: { Accept: 'application/json' } }),
      );
      assert.equal(result.statusCode, 400);
      assert.equal(result.headers?.['Content-Type'], 'application/json');
      const json = JSON.parse(result.body) as { error: { code: string; message: string } };
      assert.equal(json.error.code, 'invalid_request');
      assert.match(json.error.message, /parameters\.temperature/);
    });

    it('answers 405 with Allow: POST to other methods', async () => {
      const result = await handler(v2Event({ method: 'GET' }));
      assert.equal(result.statusCode, 405);
      assert.equal(result.headers?.['Allow'], 'POST');
      assert.equal(decodeResponse(Buffer.from(result.body, 'base64')).error?.code, 'method_not_allowed');
    });

    it('never throws, even for a non-event', async () => {
      const result = await handler(null as never);
      assert.equal(result.statusCode, 400);
    });
  });

  describe('Bedrock errors (injected by the emulator) → classified status with the provider message', () => {
    const faults: Array<[string, Parameters<EmulatorHandle['faults']['set']>[0]['faults'], number, string, boolean, RegExp]> = [
      ['ThrottlingException', [{ kind: 'status', status: 429 }], 429, 'throttled', true, /^ThrottlingException: Too many requests/],
      // ModelNotReady (HTTP 429 in the SDK's model) and ServiceQuotaExceeded (HTTP 400) are retried
      // per job, not answered 429: a 429 pauses the whole cloud queue fleet-wide.
      [
        'ModelNotReadyException',
        [{ kind: 'status', status: 429, errorType: 'ModelNotReadyException' }],
        503,
        'model_not_ready',
        true,
        /^ModelNotReadyException: /,
      ],
      [
        'ServiceQuotaExceededException',
        [{ kind: 'status', status: 400, errorType: 'ServiceQuotaExceededException' }],
        503,
        'quota_exceeded',
        true,
        /^ServiceQuotaExceededException: .*request an increase/,
      ],
      [
        'ServiceUnavailableException',
        [{ kind: 'status', status: 503 }],
        503,
        'upstream_unavailable',
        true,
        /^ServiceUnavailableException: /,
      ],
      ['ModelTimeoutException', [{ kind: 'status', status: 408 }], 504, 'model_timeout', true, /^ModelTimeoutException: /],
      ['ModelErrorException', [{ kind: 'status', status: 424 }], 502, 'model_error', false, /^ModelErrorException: .*try another model/],
      ['InternalServerException', [{ kind: 'status', status: 500 }], 502, 'upstream_error', true, /^InternalServerException: /],
      [
        'ValidationException',
        [{ kind: 'validation', message: 'The provided model identifier is invalid.' }],
        400,
        'invalid_request',
        false,
        /^ValidationException: The provided model identifier is invalid\.$/,
      ],
      [
        'ResourceNotFoundException',
        [{ kind: 'status', status: 404 }],
        400,
        'model_not_found',
        false,
        /^ResourceNotFoundException: .*check the model id/,
      ],
      [
        'AccessDeniedException',
        [{ kind: 'status', status: 403 }],
        502,
        'upstream_access_denied',
        false,
        /^AccessDeniedException: You don't have access.*allow bedrock:InvokeModel on .* in the Lambda's role/,
      ],
      ['a malformed body', [{ kind: 'malformed' }], 502, 'upstream_bad_response', true, /unreadable body/],
    ];
    for (const [name, spec, status, code, retryable, message] of faults) {
      it(`${name} → ${status} ${code}${retryable ? ' (retryable)' : ' (permanent)'}`, async () => {
        emu.faults.set({ faults: spec });
        const detail = errorOf(await handler(v1Event({ request })), status);
        assert.equal(detail.code, code);
        assert.equal(detail.retryable === true, retryable, 'proto3 omits false: unset means permanent');
        assert.match(detail.message, message);
        assert.equal(
          decodeResponseBase64((await handler(v1Event({ request }))).body).conversationId,
          'conv-1',
          'errors echo the conversation',
        );
      });
    }

    it('answers 504 before the Lambda deadline when Bedrock hangs', async () => {
      emu.faults.set({ faults: [{ kind: 'hang' }] });
      const started = Date.now();
      const result = await handler(v1Event({ request }), { awsRequestId: 'r', getRemainingTimeInMillis: () => 1_400 });
      const detail = errorOf(result, 504);
      assert.equal(detail.code, 'upstream_timeout');
      assert.equal(detail.retryable, true);
      const took = Date.now() - started;
      assert.ok(took >= 350 && took < 1_400, `answered within the deadline (took ${took} ms)`);
    });
  });

  it('answers 500 without details when the function is misconfigured', async () => {
    const broken = createHandler({ config: () => loadConfig({ BEDROCK_ENDPOINT: 'ftp://nope' }), logger: silentLogger });
    const detail = errorOf(await broken(v1Event({ request: { inputText: 'q' } })), 500);
    assert.equal(detail.code, 'internal_error');
    assert.doesNotMatch(detail.message, /ftp/);
  });

  it('builds its Bedrock client from config on first use', async () => {
    const fromConfig = createHandler({
      config: loadConfig({
        AWS_REGION: 'eu-west-1',
        BEDROCK_ENDPOINT: emu.url,
        BEDROCK_MODEL_ID: 'meta.llama3-8b-instruct-v1:0',
        LOG_LEVEL: 'silent',
      }),
      logger: silentLogger,
    });
    const res = responseOf(await fromConfig(v2Event({ request: { inputText: 'Hi', parameters: {} } })));
    assert.equal(res.modelId, 'meta.llama3-8b-instruct-v1:0');
    assert.match(res.outputText, /emulated bedrock meta\.llama3-8b-instruct-v1:0/);
  });

  it('serves encodeRequestBase64 bodies from our codec unchanged', async () => {
    const body = encodeRequestBase64({ inputText: 'ping' });
    assert.equal((await handler(v1Event({ body }))).statusCode, 200);
  });
});
