import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import {
  decodeRequest,
  decodeRequestBase64,
  decodeResponse,
  encodeRequest,
  encodeRequestBase64,
  encodeResponse,
  fromBase64,
} from '../../../proto/codec';
import { ProtobufDecodeError } from '../../../shared/errors';

/** The seed's message layout, written independently of our .proto (field numbers are the contract). */
const seedRoot = protobuf.parse(`
  syntax = "proto3";
  package seed;
  message GenerateRequest { string input_text = 1; map<string,string> parameters = 2; }
  message GenerateResponse { string output_text = 1; map<string,float> confidence_scores = 2; repeated string tokens = 3; }
`).root;
const SeedRequest = seedRoot.lookupType('seed.GenerateRequest');
const SeedResponse = seedRoot.lookupType('seed.GenerateResponse');

describe('protobuf codec', () => {
  it('round-trips a request with every field', () => {
    const req = {
      inputText: 'What is the meaning of life?',
      parameters: { temperature: '0.7', max_tokens: '100' },
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      history: [
        { role: 'user' as const, content: 'hi' },
        { role: 'assistant' as const, content: 'hello' },
      ],
      systemPrompt: 'be brief',
      conversationId: 'c-1',
      turn: 3,
    };
    assert.deepEqual(decodeRequestBase64(encodeRequestBase64(req)), req);
  });

  it('round-trips a response with usage, stop reason and error detail', () => {
    const res = {
      outputText: 'forty-two',
      confidenceScores: { a: 0.5 },
      tokens: ['forty', 'two'],
      modelId: 'm',
      inputTokens: 12,
      outputTokens: 3,
      stopReason: 'end_turn',
      latencyMs: 45,
      error: { code: 'x', message: 'y', retryable: true, status: 429 },
      conversationId: 'c',
      turn: 2,
    };
    assert.deepEqual(decodeResponse(encodeResponse(res)), res);
  });

  it("decodes bytes written with the seed's layout, and the seed decodes ours", () => {
    const seedBytes = SeedRequest.encode(SeedRequest.fromObject({ inputText: 'Hello', parameters: { temperature: '0.7' } })).finish();
    assert.deepEqual(decodeRequest(seedBytes), { inputText: 'Hello', parameters: { temperature: '0.7' } });

    const ours = encodeResponse({ outputText: 'Hi', tokens: ['Hi'], inputTokens: 5, stopReason: 'end_turn' });
    const seen = SeedResponse.toObject(SeedResponse.decode(ours)) as { outputText: string; tokens: string[] };
    assert.equal(seen.outputText, 'Hi');
    assert.deepEqual(seen.tokens, ['Hi']);

    const oursReq = encodeRequest({ inputText: 'Q', parameters: { max_tokens: '9' }, history: [{ role: 'user', content: 'x' }] });
    const seedSees = SeedRequest.toObject(SeedRequest.decode(oursReq)) as { inputText: string; parameters: Record<string, string> };
    assert.deepEqual(seedSees, { inputText: 'Q', parameters: { max_tokens: '9' } });
  });

  it('tolerates unknown fields', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string('known');
    w.uint32((99 << 3) | 2).string('from the future');
    w.uint32((100 << 3) | 0).uint32(7);
    assert.equal(decodeRequest(w.finish()).inputText, 'known');
  });

  it('rejects garbage with a typed error', () => {
    const truncated = encodeRequest({ inputText: 'a long enough question' }).slice(0, 5);
    for (const bad of [truncated, Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Uint8Array.from([0x0f])]) {
      assert.throws(() => decodeRequest(bad), ProtobufDecodeError);
    }
    assert.throws(
      () => fromBase64('not base64!!'),
      (e: unknown) => e instanceof ProtobufDecodeError && /base64/.test(e.message),
    );
    assert.throws(() => decodeRequestBase64('abc'), ProtobufDecodeError);
  });
});
