/**
 * The handler answers the original (seed) system's request in every shape API Gateway can hand it
 * over, in the envelope the seed's client parses. The seed's side is encoded and decoded with its
 * own schema (test/fixtures/seed-messages.proto), never with our codec; see
 * test/helpers/seed-system.ts for where each detail of the seed's wire was read.
 */
import assert from 'node:assert/strict';
import { startBedrockEmulator, type EmulatorHandle } from '../../../emulators/bedrock-emulator';
import { silentLogger } from '../../../shared/logger';
import { decodeSeedResponse, javaBase64Decode, parseSeedEnvelope, seedRequestJson } from '../../helpers/seed-system';
import { createBedrockConverse } from '../../../bedrock/bedrock-client';
import { createHandler } from '../../../lambda/handler';
import type { ProxyEvent, ProxyHandler, ProxyResult } from '../../../lambda/proxy-types';
import { v1Event, v2Event } from '../../helpers/proxy-events';

const DEFAULT_MODEL = 'amazon.nova-micro-v1:0';

type Shape = 'non-proxy event' | 'v1 proxy, text body' | 'v1 proxy, base64 body' | 'v2 proxy, text body' | 'v2 proxy, base64 body';
const SHAPES: Shape[] = ['non-proxy event', 'v1 proxy, text body', 'v1 proxy, base64 body', 'v2 proxy, text body', 'v2 proxy, base64 body'];

/** The seed client's JSON as API Gateway hands it to the Lambda in `shape`. */
function eventOf(shape: Shape, json: string): ProxyEvent {
  if (shape === 'non-proxy event') return JSON.parse(json) as ProxyEvent;
  const binary = shape.endsWith('base64 body');
  const body = binary ? Buffer.from(json, 'utf8').toString('base64') : json;
  const make = shape.startsWith('v1') ? v1Event : v2Event;
  return make({ body, isBase64Encoded: binary, headers: { accept: 'text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2' } });
}

/** The text the seed client receives as the HTTP body for `shape`. */
function httpBodyOf(shape: Shape, result: ProxyResult): string {
  // Non-proxy integration: API Gateway serialises the handler's return value as the body.
  if (shape === 'non-proxy event') return JSON.stringify(result);
  assert.notEqual(result.isBase64Encoded, true, 'a JSON envelope is never flagged binary');
  return result.body;
}

describe("lambda handler: the seed's JSON envelope in every event shape", () => {
  let emu: EmulatorHandle;
  let handler: ProxyHandler;
  const calls = () => (emu.stats() as { calls: number }).calls;

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

  for (const shape of SHAPES) {
    it(`${shape}: calls Bedrock once and answers {statusCode:200, headers, body: base64 BedrockResponse}`, async () => {
      const before = calls();
      const result = await handler(eventOf(shape, seedRequestJson('What is a Redis stream?', { requestId: 'seed-req-1' })));
      assert.equal(calls() - before, 1, 'Bedrock called exactly once');
      assert.equal(result.statusCode, 200, result.body);
      const envelope = parseSeedEnvelope(httpBodyOf(shape, result));
      assert.equal(envelope.statusCode, 200);
      assert.equal(envelope.headers['Content-Type'], 'application/x-protobuf');
      assert.equal(envelope.headers['X-Request-ID'], 'seed-req-1');
      const reply = decodeSeedResponse(javaBase64Decode(envelope.body));
      assert.match(reply.outputText, /^\[emulated bedrock amazon\.nova-micro-v1:0\] .*What is a Redis stream\?/);
      assert.deepEqual(reply.tokens, reply.outputText.split(/\s+/).filter(Boolean));
      if (shape === 'non-proxy event')
        assert.deepEqual(Object.keys(result).sort(), ['body', 'headers', 'statusCode'], "exactly the seed's response event fields");
    });

    it(`${shape}: a missing query is the seed's 400 "Bad Request: Missing required 'query' parameter", Bedrock not called`, async () => {
      const before = calls();
      const result = await handler(eventOf(shape, JSON.stringify({ queryStringParameters: {}, requestContext: { requestId: 'r' } })));
      const envelope = parseSeedEnvelope(httpBodyOf(shape, result));
      assert.equal(envelope.statusCode, 400);
      assert.equal(envelope.body, "Bad Request: Missing required 'query' parameter");
      assert.equal(calls(), before);
      if (shape !== 'non-proxy event') assert.equal(result.statusCode, 400, 'the proxy answer carries the status on HTTP too');
    });
  }

  it('a query that is not base64 is a 400 "Bad Request: …" naming the field', async () => {
    const result = await handler(eventOf('v1 proxy, base64 body', JSON.stringify({ queryStringParameters: { query: '%%%' } })));
    const envelope = parseSeedEnvelope(result.body);
    assert.equal(envelope.statusCode, 400);
    assert.match(envelope.body, /^Bad Request: queryStringParameters\.query is not valid base64/);
  });

  it('an out-of-range parameter is a 400 "Bad Request: …" naming it, before Bedrock', async () => {
    const before = calls();
    const result = await handler(eventOf('non-proxy event', seedRequestJson('hot?', { temperature: 3 })));
    const envelope = parseSeedEnvelope(JSON.stringify(result));
    assert.equal(envelope.statusCode, 400);
    assert.match(envelope.body, /^Bad Request: parameters\.temperature must be a number between 0 and 1/);
    assert.equal(calls(), before);
  });

  it('a Bedrock throttle keeps its status (429) with the seed\'s "Error: …" text', async () => {
    emu.faults.set({ faults: [{ kind: 'status', status: 429 }] });
    const result = await handler(eventOf('v2 proxy, text body', seedRequestJson('too fast')));
    assert.equal(result.statusCode, 429);
    const envelope = parseSeedEnvelope(result.body);
    assert.equal(envelope.statusCode, 429);
    assert.match(envelope.body, /^Error: ThrottlingException: Too many requests/);
    assert.equal(envelope.headers['Content-Type'], 'text/plain; charset=utf-8');
  });

  it('a body that starts with "{" but is not JSON is a 400 in the envelope, not a 500', async () => {
    const result = await handler(eventOf('v1 proxy, text body', '{"queryStringParameters":'));
    assert.equal(result.statusCode, 400);
    assert.match(parseSeedEnvelope(result.body).body, /^Bad Request: request body is not valid JSON/);
  });

  it('our own format is untouched: a raw protobuf body whose text starts with "{" after a whitespace-like length byte', async () => {
    // 0x0A (field 1) then length 32 (a space): after leading whitespace the bytes show "{".
    const text = '{"queryStringParameters":1234}x';
    assert.equal(Buffer.byteLength(text) + 1, 32);
    const raw = Buffer.concat([Buffer.from([0x0a, 32]), Buffer.from(`${text} `)]);
    const result = await handler(v1Event({ body: raw.toString('base64'), isBase64Encoded: true }));
    assert.equal(result.statusCode, 200, result.body);
    assert.equal(result.headers?.['Content-Type'], 'application/x-protobuf');
  });
});
