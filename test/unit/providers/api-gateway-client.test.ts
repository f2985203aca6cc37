import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeRequestBase64, encodeResponse, encodeResponseBase64, type LlmRequest } from '../../../proto/codec';
import { ProviderError } from '../../../shared/errors';
import { createApiGatewayClient } from '../../../providers/api-gateway-client';

/** What the test server does with the next request. */
type Script = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    assert.equal(err.provider, 'api-gateway');
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('cloud client (axios against a real HTTP server playing API Gateway)', () => {
  let server: http.Server;
  let url: string;
  let script: Script;
  const received: Array<{ headers: IncomingMessage['headers']; body: Buffer }> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({ headers: req.headers, body });
        script(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/generate`;
  });
  beforeEach(() => {
    received.length = 0;
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(Buffer.from(encodeResponse({ outputText: 'ok', modelId: 'm-1', inputTokens: 3, outputTokens: 1, stopReason: 'end_turn' })));
    };
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the call as a base64 protobuf LlmRequest with protobuf content type and the API key', async () => {
    const client = createApiGatewayClient({ url, timeoutMs: 5_000, apiKey: 'secret-key', defaultModel: 'default-model' });
    const reply = await client.generate({
      prompt: 'Next question?',
      system: 'Be concise.',
      history: [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A1' },
      ],
      temperature: 0.7,
      maxTokens: 256,
      conversationId: 'conv-9',
      turn: 2,
    });
    const { headers, body } = received[0]!;
    assert.equal(headers['content-type'], 'application/x-protobuf');
    assert.equal(headers['accept'], 'application/x-protobuf');
    assert.equal(headers['x-api-key'], 'secret-key');
    assert.match(body.toString('latin1'), /^[A-Za-z0-9+/]+=*$/, 'the body is base64 text');
    const req: LlmRequest = decodeRequestBase64(body.toString('latin1'));
    assert.equal(req.inputText, 'Next question?');
    assert.equal(req.systemPrompt, 'Be concise.');
    assert.deepEqual(req.history, [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
    ]);
    assert.deepEqual(req.parameters, { temperature: '0.7', max_tokens: '256' });
    assert.equal(req.modelId, 'default-model');
    assert.equal(req.conversationId, 'conv-9');
    assert.equal(req.turn, 2);
    assert.deepEqual(
      { ...reply, latencyMs: 0 },
      { text: 'ok', model: 'm-1', inputTokens: 3, outputTokens: 1, stopReason: 'end_turn', latencyMs: 0 },
    );
    assert.ok(reply.latencyMs >= 0);
  });

  it('sends no API key header when none is configured, and the call model over the default', async () => {
    const client = createApiGatewayClient({ url, timeoutMs: 5_000, defaultModel: 'default-model' });
    await client.generate({ prompt: 'x', model: 'call-model' });
    assert.equal(received[0]!.headers['x-api-key'], undefined);
    assert.equal(decodeRequestBase64(received[0]!.body.toString('latin1')).modelId, 'call-model');
  });

  it('reads a reply sent as base64 text (API without binary media types, or the seed Lambda)', async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(encodeResponseBase64({ outputText: 'from base64 text', tokens: ['from', 'base64', 'text'] }));
    };
    const client = createApiGatewayClient({ url, timeoutMs: 5_000, defaultModel: 'dm' });
    const reply = await client.generate({ prompt: 'x' });
    assert.equal(reply.text, 'from base64 text');
    assert.equal(reply.model, 'dm', 'a seed reply has no model id: the requested one is reported');
    assert.equal(reply.stopReason, 'unknown');
  });

  it('a 2xx body that is not an LlmResponse is a permanent invalid_protobuf error', async () => {
    for (const body of ['<html>gateway page</html>', 'hello world', '']) {
      script = (_req, _body, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(body);
      };
      const err = await rejection(createApiGatewayClient({ url, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
      assert.equal(err.code, 'invalid_protobuf', body);
      assert.equal(err.retryable, false);
    }
  });

  describe('checkOk: status and message from whatever error body arrives', () => {
    const cases: Array<
      [string, number, string, Record<string, string>, string | Buffer, { code: string; retryable: boolean; message: RegExp }]
    > = [
      [
        'the Lambda protobuf detail (429)',
        429,
        'protobuf',
        {},
        Buffer.from(
          encodeResponse({
            outputText: '',
            error: { code: 'throttled', message: 'ThrottlingException: slow down', retryable: true, status: 429 },
          }),
        ),
        { code: 'throttled', retryable: true, message: /429: ThrottlingException: slow down/ },
      ],
      [
        'the Lambda protobuf detail as base64 text (400)',
        400,
        'protobuf',
        {},
        encodeResponseBase64({
          outputText: '',
          error: { code: 'invalid_request', message: 'parameters.temperature must be ...', retryable: false, status: 400 },
        }),
        { code: 'invalid_request', retryable: false, message: /parameters\.temperature/ },
      ],
      [
        'a permanent 502 from the Lambda (proto3 omits retryable=false)',
        502,
        'protobuf',
        {},
        Buffer.from(
          encodeResponse({
            outputText: '',
            error: { code: 'upstream_access_denied', message: 'AccessDeniedException: no', retryable: false, status: 502 },
          }),
        ),
        { code: 'upstream_access_denied', retryable: false, message: /AccessDeniedException/ },
      ],
      [
        'a JSON error body',
        400,
        'application/json',
        {},
        JSON.stringify({ error: { code: 'invalid_request', message: 'input_text must not be empty' } }),
        { code: 'invalid_request', retryable: false, message: /input_text must not be empty/ },
      ],
      [
        "API Gateway's own 403",
        403,
        'application/json',
        { 'x-amzn-errortype': 'ForbiddenException' },
        JSON.stringify({ message: 'Forbidden' }),
        { code: 'gateway_forbidden', retryable: false, message: /403: Forbidden \(the API requires an API key: set API_GATEWAY_API_KEY/ },
      ],
      [
        "API Gateway's own 504",
        504,
        'application/json',
        {},
        JSON.stringify({ message: 'Endpoint request timed out' }),
        { code: 'gateway_timeout', retryable: true, message: /Endpoint request timed out .*GATEWAY_TIMEOUT_MS/ },
      ],
      [
        'a plain-text 503',
        503,
        'text/plain',
        {},
        'upstream overloaded',
        { code: 'http_503', retryable: true, message: /503: upstream overloaded/ },
      ],
    ];
    for (const [name, status, type, extra, body, want] of cases) {
      it(name, async () => {
        script = (_req, _body, res) => {
          res.writeHead(status, { 'content-type': type, ...extra });
          res.end(body);
        };
        const err = await rejection(createApiGatewayClient({ url, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
        assert.equal(err.status, status);
        assert.equal(err.code, want.code);
        assert.equal(err.retryable, want.retryable);
        assert.match(err.message, want.message);
      });
    }
  });

  it('times out (and really cancels) as a retryable timeout error', async () => {
    let closed = false;
    script = (req) => {
      req.socket.on('close', () => {
        closed = true;
      });
    };
    const client = createApiGatewayClient({ url, timeoutMs: 5_000 });
    const started = Date.now();
    const err = await rejection(client.generate({ prompt: 'x', timeoutMs: 200 }));
    assert.equal(err.code, 'timeout');
    assert.equal(err.retryable, true);
    assert.match(err.message, /timed out after 200 ms/);
    assert.ok(Date.now() - started < 2_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, true, 'the socket was closed, not left running');
  });

  it('an abort of call.signal is an AbortError with code aborted, not retryable', async () => {
    script = () => undefined;
    const client = createApiGatewayClient({ url, timeoutMs: 5_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('conversation cancelled')), 100);
    const err = await rejection(client.generate({ prompt: 'x', signal: ac.signal }));
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'aborted');
    assert.equal(err.retryable, false);
    assert.match(err.message, /conversation cancelled/);

    const already = AbortSignal.abort(new Error('gone'));
    const before = received.length;
    const err2 = await rejection(client.generate({ prompt: 'x', signal: already }));
    assert.equal(err2.code, 'aborted');
    assert.equal(received.length, before, 'nothing was sent');
  });

  it('a refused connection is a retryable connection_error', async () => {
    const spare = http.createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const err = await rejection(createApiGatewayClient({ url: `http://127.0.0.1:${port}/x`, timeoutMs: 5_000 }).generate({ prompt: 'x' }));
    assert.equal(err.code, 'connection_error');
    assert.equal(err.retryable, true);
    assert.match(err.message, /ECONNREFUSED/);
  });

  it('rejects bad options at construction', () => {
    assert.throws(() => createApiGatewayClient({ url: '', timeoutMs: 1 }), TypeError);
    assert.throws(() => createApiGatewayClient({ url: 'ftp://x', timeoutMs: 1 }), TypeError);
    assert.throws(() => createApiGatewayClient({ url: 'http://x', timeoutMs: 0 }), TypeError);
  });
});
