import assert from 'node:assert/strict';
import axios from 'axios';
import { decodeResponse, encodeRequest, encodeRequestBase64 } from '../../../proto/codec';
import { silentLogger } from '../../../shared/logger';
import { startBedrockEmulator, type EmulatorHandle } from '../../../emulators/bedrock-emulator';
import { createBedrockConverse } from '../../../bedrock/bedrock-client';
import { createHandler } from '../../../lambda/handler';
import { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../../lambda/local-gateway';
import type { ProxyEvent, ProxyHandler } from '../../../lambda/proxy-types';

/** A Lambda that answers with the event it received (JSON), to see what the gateway built. */
const echoHandler: ProxyHandler = async (event) => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(event),
});

const post = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  axios.post(url, body, { headers, responseType: 'arraybuffer', validateStatus: () => true, transformRequest: [(d: unknown) => d] });

describe('local API Gateway host', () => {
  const open: LocalGateway[] = [];
  const start = async (opts: LocalGatewayOptions) => {
    const gw = await startLocalGateway({ port: 0, ...opts });
    open.push(gw);
    return gw;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((gw) => gw.close()));
  });

  it('answers GET /health', async () => {
    const gw = await start({ handler: echoHandler });
    const res = await axios.get(`${gw.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.data.status, 'ok');
  });

  describe('request bodies, like API Gateway with binary media types', () => {
    it('v1: a binary content type reaches the handler base64-encoded with isBase64Encoded true', async () => {
      const gw = await start({ handler: echoHandler, format: 'v1' });
      const text = encodeRequestBase64({ inputText: 'hi' });
      const res = await post(`${gw.url}/generate?x=1`, text, { 'content-type': 'application/x-protobuf', 'x-trace': 'abc' });
      const event = JSON.parse(Buffer.from(res.data).toString()) as ProxyEvent & { httpMethod: string; path: string };
      assert.equal(event.httpMethod, 'POST');
      assert.equal(event.path, '/generate');
      assert.equal(event.isBase64Encoded, true);
      assert.equal(Buffer.from(event.body!, 'base64').toString('latin1'), text);
      assert.equal(event.headers?.['x-trace'], 'abc');
      assert.deepEqual((event as { queryStringParameters: unknown }).queryStringParameters, { x: '1' });
    });

    it('v1: a text content type arrives as text with isBase64Encoded false', async () => {
      const gw = await start({ handler: echoHandler, format: 'v1' });
      const res = await post(gw.url + '/', 'aGVsbG8=', { 'content-type': 'text/plain' });
      const event = JSON.parse(Buffer.from(res.data).toString()) as ProxyEvent;
      assert.equal(event.isBase64Encoded, false);
      assert.equal(event.body, 'aGVsbG8=');
    });

    it('v2: builds a payload 2.0 event; non-text types are binary', async () => {
      const gw = await start({ handler: echoHandler, format: 'v2' });
      const raw = Buffer.from(encodeRequest({ inputText: 'raw' }));
      const res = await post(`${gw.url}/generate`, raw, { 'content-type': 'application/vnd.custom' });
      const event = JSON.parse(Buffer.from(res.data).toString()) as ProxyEvent & {
        version: string;
        rawPath: string;
        requestContext: { http: { method: string } };
      };
      assert.equal(event.version, '2.0');
      assert.equal(event.rawPath, '/generate');
      assert.equal(event.requestContext.http.method, 'POST');
      assert.equal(event.isBase64Encoded, true);
      assert.deepEqual(Buffer.from(event.body!, 'base64'), raw);

      const form = await post(`${gw.url}/generate`, 'aGk=', { 'content-type': 'application/x-www-form-urlencoded' });
      const formEvent = JSON.parse(Buffer.from(form.data).toString()) as ProxyEvent;
      assert.equal(formEvent.isBase64Encoded, false);
      assert.equal(formEvent.body, 'aGk=');
    });
  });

  describe('response bodies', () => {
    const binaryHandler: ProxyHandler = async () => ({
      statusCode: 200,
      headers: { 'Content-Type': 'application/x-protobuf' },
      isBase64Encoded: true,
      body: Buffer.from([0x0a, 0x02, 0x68, 0x69]).toString('base64'),
    });

    it('v1 decodes isBase64Encoded bodies only when the first Accept type is binary (REST rule)', async () => {
      const gw = await start({ handler: binaryHandler, format: 'v1' });
      const binary = await post(gw.url, 'x', { accept: 'application/x-protobuf' });
      assert.deepEqual(Buffer.from(binary.data), Buffer.from([0x0a, 0x02, 0x68, 0x69]));
      const text = await post(gw.url, 'x', { accept: 'application/json, application/x-protobuf' });
      assert.equal(Buffer.from(text.data).toString(), 'CgJoaQ==');
    });

    it('v2 always decodes isBase64Encoded bodies (HTTP API rule)', async () => {
      const gw = await start({ handler: binaryHandler, format: 'v2' });
      const res = await post(gw.url, 'x', { accept: '*/*' });
      assert.deepEqual(Buffer.from(res.data), Buffer.from([0x0a, 0x02, 0x68, 0x69]));
      assert.equal(res.headers['content-type'], 'application/x-protobuf');
    });
  });

  it('requires the stage prefix when a stage is set, and strips it from the v1 path', async () => {
    const gw = await start({ handler: echoHandler, stage: 'dev' });
    assert.match(gw.url, /\/dev$/);
    const ok = await post(`${gw.url}/generate`, 'aGk=', { 'content-type': 'text/plain' });
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(Buffer.from(ok.data).toString()) as { path: string }).path, '/generate');
    // Another stage matches no deployed route: API Gateway's 403 "Missing Authentication Token".
    const wrong = await post(gw.url.replace(/\/dev$/, '/prod/generate'), 'aGk=');
    assert.equal(wrong.status, 403);
    assert.equal(wrong.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
  });

  it('refuses a request without the API key with 403, like a usage-plan API', async () => {
    const gw = await start({ handler: echoHandler, apiKey: 'k-123' });
    assert.equal((await post(gw.url, 'aGk=')).status, 403);
    assert.equal((await post(gw.url, 'aGk=', { 'x-api-key': 'wrong' })).status, 403);
    assert.equal((await post(gw.url, 'aGk=', { 'x-api-key': 'k-123' })).status, 200);
  });

  it('answers 413 to a body over maxBodyBytes without calling the handler', async () => {
    let called = false;
    const gw = await start({
      handler: async (e) => {
        called = true;
        return echoHandler(e);
      },
      maxBodyBytes: 1024,
    });
    const res = await post(gw.url, 'A'.repeat(4096), { 'content-type': 'text/plain' });
    assert.equal(res.status, 413);
    assert.equal(called, false);
  });

  it('answers 502 when the handler throws or returns a malformed result', async () => {
    const throwing = await start({
      handler: async () => {
        throw new Error('boom');
      },
    });
    const a = await post(throwing.url, 'aGk=');
    assert.equal(a.status, 502);
    assert.deepEqual(JSON.parse(Buffer.from(a.data).toString()), { message: 'Internal server error' });
    const malformed = await start({ handler: async () => ({ body: 'no status' }) as never });
    assert.equal((await post(malformed.url, 'aGk=')).status, 502);
  });

  it('answers 504 when the handler runs past the integration timeout, and still closes promptly', async () => {
    const gw = await start({ handler: () => new Promise(() => undefined), integrationTimeoutMs: 200 });
    const started = Date.now();
    const res = await post(gw.url, 'aGk=');
    assert.equal(res.status, 504);
    assert.ok(Date.now() - started < 2_000);
  });

  describe('with the real handler, SDK and Bedrock emulator', () => {
    let emu: EmulatorHandle;
    before(async () => {
      emu = await startBedrockEmulator({ port: 0 });
    });
    after(async () => {
      await emu.close();
    });

    it('runs the Lambda in-process and returns its protobuf reply as bytes to a binary client', async () => {
      const handler = createHandler({
        converse: createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: 'amazon.titan-text-lite-v1' }),
        logger: silentLogger,
      });
      const gw = await start({ handler, format: 'v2' });
      const res = await post(gw.url, encodeRequestBase64({ inputText: 'Through the gateway' }), {
        'content-type': 'application/x-protobuf',
        accept: 'application/x-protobuf',
      });
      assert.equal(res.status, 200);
      const reply = decodeResponse(Buffer.from(res.data));
      assert.match(reply.outputText, /^\[emulated bedrock amazon\.titan-text-lite-v1\].*Through the gateway/);
    });

    it('gives the handler a context whose remaining time tracks the integration timeout', async () => {
      emu.faults.set({ faults: [{ kind: 'hang' }] });
      try {
        const handler = createHandler({
          converse: createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: 'm' }),
          logger: silentLogger,
          deadlineMarginMs: 300,
        });
        const gw = await start({ handler, integrationTimeoutMs: 800 });
        const res = await post(gw.url, encodeRequestBase64({ inputText: 'hang' }), {
          'content-type': 'application/x-protobuf',
          accept: 'application/x-protobuf',
        });
        assert.equal(res.status, 504);
        assert.equal(
          decodeResponse(Buffer.from(res.data)).error?.code,
          'upstream_timeout',
          'the Lambda answered before the gateway gave up',
        );
      } finally {
        emu.faults.reset();
      }
    });
  });
});
