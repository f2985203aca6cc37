/**
 * The only importer of protobufjs. Encodes and decodes the wire messages of `llm.proto`, raw and
 * base64, and turns every malformed input into a {@link ProtobufDecodeError}.
 *
 * @example
 * const body = encodeRequestBase64({ inputText: 'Hello', parameters: { temperature: '0.7' } });
 * const req = decodeRequestBase64(body);
 */
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ProtobufDecodeError } from '../shared/errors';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface LlmRequest {
  inputText: string;
  /** Seed-compatible parameters: `temperature`, `max_tokens` (strings on the wire). */
  parameters?: Record<string, string>;
  modelId?: string;
  history?: ChatMessage[];
  systemPrompt?: string;
  conversationId?: string;
  turn?: number;
  /** Parameters to leave out for this model (`temperature`, `top_p`, `system`), learned from earlier rejections. */
  omitParameters?: string[];
  /** True: no prompt-cache checkpoints for this call. */
  noCache?: boolean;
  /** Which history checkpoints a later call can read: `all` (or absent), `read`, `none`. */
  cacheHistory?: string;
}

export interface ErrorDetail {
  code: string;
  message: string;
  retryable: boolean;
  status: number;
}

export interface LlmResponse {
  outputText: string;
  confidenceScores?: Record<string, number>;
  tokens?: string[];
  modelId?: string;
  inputTokens?: number;
  outputTokens?: number;
  stopReason?: string;
  latencyMs?: number;
  error?: ErrorDetail;
  conversationId?: string;
  turn?: number;
  /** Tokens spent in reasoning content blocks (within `outputTokens`). */
  reasoningTokens?: number;
  /** True when `reasoningTokens` is an estimate (Converse reports no separate count). */
  reasoningTokensEstimated?: boolean;
  /** Parameters the Lambda left out because the model rejects them. */
  omittedParameters?: string[];
  /** Of those, the ones Bedrock rejected in this very call (retried without them). */
  rejectedParameters?: string[];
  /** Input tokens read from the prompt cache (not in `inputTokens`). */
  cacheReadInputTokens?: number;
  /** Input tokens written to the prompt cache (not in `inputTokens`). */
  cacheWriteInputTokens?: number;
}

/** Path of the .proto; the Lambda bundle ships it beside the code. */
export const PROTO_PATH =
  [path.join(__dirname, 'llm.proto'), path.join(__dirname, 'proto', 'llm.proto')].find((p) => fs.existsSync(p)) ??
  path.join(__dirname, 'llm.proto');

const root = protobuf.loadSync(PROTO_PATH);
const RequestType = root.lookupType('llmconv.v1.LlmRequest');
const ResponseType = root.lookupType('llmconv.v1.LlmResponse');

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: false, arrays: false, objects: false };
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function encode(type: protobuf.Type, message: object): Uint8Array {
  const err = type.verify(message);
  if (err) throw new ProtobufDecodeError(`cannot encode ${type.name}: ${err}`);
  return type.encode(type.fromObject(message)).finish();
}

function decode<T>(type: protobuf.Type, bytes: Uint8Array): T {
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ProtobufDecodeError(`body is not a valid ${type.name} protobuf message: ${why}`, err);
  }
  return type.toObject(msg, TO_OBJECT) as T;
}

/** Decodes strict base64 (RFC 4648, padded; whitespace ignored) or throws ProtobufDecodeError. */
export function fromBase64(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (!STRICT_BASE64.test(compact)) {
    throw new ProtobufDecodeError('body is not valid base64 (expected RFC 4648 base64 of a protobuf message)');
  }
  return Buffer.from(compact, 'base64');
}

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export const encodeRequest = (req: LlmRequest): Uint8Array => encode(RequestType, req);
export const encodeResponse = (res: LlmResponse): Uint8Array => encode(ResponseType, res);

export function decodeRequest(bytes: Uint8Array): LlmRequest {
  const req = decode<LlmRequest>(RequestType, bytes);
  return { ...req, inputText: req.inputText ?? '' };
}

export function decodeResponse(bytes: Uint8Array): LlmResponse {
  const res = decode<LlmResponse>(ResponseType, bytes);
  return { ...res, outputText: res.outputText ?? '' };
}

export const encodeRequestBase64 = (req: LlmRequest): string => toBase64(encodeRequest(req));
export const encodeResponseBase64 = (res: LlmResponse): string => toBase64(encodeResponse(res));
export const decodeRequestBase64 = (text: string): LlmRequest => decodeRequest(fromBase64(text));
export const decodeResponseBase64 = (text: string): LlmResponse => decodeResponse(fromBase64(text));
