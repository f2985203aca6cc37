import assert from 'node:assert/strict';
import { decodeRequest, encodeRequest, type LlmRequest } from '../../../proto/codec';
import { ValidationError } from '../../../shared/errors';
import { parseProxyEvent, requestProtobufBytes } from '../../../lambda/proxy-event';
import { encodeBody, v1Event, v2Event, type BodyMode } from '../../helpers/proxy-events';

const request: LlmRequest = { inputText: 'What is a stream?', parameters: { temperature: '0.5' }, conversationId: 'c1', turn: 2 };

function bytesOf(event: unknown): LlmRequest {
  return decodeRequest(requestProtobufBytes(parseProxyEvent(event)));
}

function assertRejected(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.code === code && err.status === 400);
}

describe('proxy-event', () => {
  describe('parseProxyEvent', () => {
    it('reads a REST (v1) event: method, path, lower-cased headers', () => {
      const parsed = parseProxyEvent(
        v1Event({ method: 'post', path: '/generate', headers: { Accept: 'application/x-protobuf' }, request }),
      );
      assert.equal(parsed.format, 'v1');
      assert.equal(parsed.method, 'POST');
      assert.equal(parsed.path, '/generate');
      assert.equal(parsed.headers['accept'], 'application/x-protobuf');
      assert.equal(parsed.headers['content-type'], 'application/x-protobuf');
      assert.equal(parsed.requestId, 'req-v1');
    });

    it('reads an HTTP API (v2) event from requestContext.http.method and rawPath', () => {
      const parsed = parseProxyEvent(v2Event({ method: 'POST', path: '/prod/generate', request }));
      assert.equal(parsed.format, 'v2');
      assert.equal(parsed.method, 'POST');
      assert.equal(parsed.path, '/prod/generate');
      assert.equal(parsed.requestId, 'req-v2');
    });

    it('rejects something that is not a proxy event with invalid_event', () => {
      assertRejected(() => parseProxyEvent('hello'), 'invalid_event');
      assertRejected(() => parseProxyEvent({ body: 'x' }), 'invalid_event');
    });

    it('rejects a broken base64 envelope when isBase64Encoded is true', () => {
      assertRejected(() => parseProxyEvent(v1Event({ body: 'not base64!', isBase64Encoded: true })), 'invalid_base64');
    });
  });

  describe('requestProtobufBytes: every accepted body encoding', () => {
    const modes: BodyMode[] = ['text', 'double', 'raw'];
    for (const mode of modes) {
      for (const make of [v1Event, v2Event]) {
        it(`decodes a ${mode} body in a ${make === v1Event ? 'v1' : 'v2'} event`, () => {
          const got = bytesOf(make({ request, mode }));
          assert.equal(got.inputText, request.inputText);
          assert.equal(got.parameters?.temperature, '0.5');
          assert.equal(got.conversationId, 'c1');
          assert.equal(got.turn, 2);
        });
      }
    }

    it('accepts base64 text with a trailing newline and with MIME line breaks', () => {
      const text = Buffer.from(encodeRequest({ inputText: 'x'.repeat(200) })).toString('base64');
      assert.equal(bytesOf(v1Event({ body: `${text}\n` })).inputText, 'x'.repeat(200));
      const wrapped = text.replace(/(.{76})/g, '$1\r\n');
      assert.ok(wrapped.includes('\r\n'));
      assert.equal(bytesOf(v1Event({ body: wrapped })).inputText, 'x'.repeat(200));
      assert.equal(
        bytesOf(v1Event({ body: Buffer.from(`${text}\n`).toString('base64'), isBase64Encoded: true })).inputText,
        'x'.repeat(200),
      );
    });

    it('never mistakes raw protobuf for base64 text, even when its text is base64-alphabet only', () => {
      // 67 letters: the length byte is "C", so "\nC" + 67 letters would be valid base64 if the
      // leading newline were trimmed.
      const tricky: LlmRequest = { inputText: 'A'.repeat(67) };
      const raw = Buffer.from(encodeRequest(tricky));
      assert.equal(raw[0], 0x0a);
      assert.equal(bytesOf(v1Event({ body: raw.toString('base64'), isBase64Encoded: true })).inputText, tricky.inputText);
    });

    it('rejects an empty body with empty_body', () => {
      assertRejected(() => requestProtobufBytes(parseProxyEvent(v1Event({ body: null }))), 'empty_body');
      assertRejected(() => requestProtobufBytes(parseProxyEvent(v2Event({ body: '', isBase64Encoded: true }))), 'empty_body');
    });

    it('rejects a text body that is not base64 with invalid_base64', () => {
      assertRejected(() => requestProtobufBytes(parseProxyEvent(v1Event({ body: 'hello world?' }))), 'invalid_base64');
      const raw = Buffer.from(encodeRequest(request)).toString('latin1');
      assertRejected(() => requestProtobufBytes(parseProxyEvent(v2Event({ body: raw }))), 'invalid_base64');
    });

    it('produces the same bytes whichever way the body was carried', () => {
      const expected = Buffer.from(encodeRequest(request));
      for (const mode of modes) {
        const { body, isBase64Encoded } = encodeBody(request, mode);
        const bytes = requestProtobufBytes(parseProxyEvent(v1Event({ body, isBase64Encoded })));
        assert.deepEqual(Buffer.from(bytes), expected, mode);
      }
    });
  });
});
