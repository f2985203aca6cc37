/**
 * Tells base64 text from raw protobuf bytes in an HTTP body, for both directions of the cloud
 * path: the handler reading a request and the cloud client reading a response.
 *
 * Why the check is unambiguous for our messages: base64 text consists only of `A-Z a-z 0-9 + /`
 * and trailing `=`; we allow trailing whitespace (a newline some writers append) but no leading or
 * inner whitespace. A protobuf-encoded `LlmRequest` with a non-empty `input_text` starts with
 * the tag byte 0x0A (field 1, length-delimited), which is a newline, so it is never read as base64
 * text; likewise an `LlmResponse` with text starts with 0x0A, and an error-only one starts with
 * `J` (field 9) followed by a length and the `ErrorDetail`'s own 0x0A, an inner newline.
 */
import { fromBase64 } from './codec';

const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TRAILING_WS = /\s+$/;

/** True when `bytes` are ASCII base64 text (standard alphabet, padded, trailing whitespace allowed). */
export function isBase64Text(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').replace(TRAILING_WS, '');
  return text.length > 0 && BASE64_TEXT.test(text);
}

/**
 * The protobuf bytes a body carries: base64 text is decoded, anything else is taken as raw
 * protobuf. Throws `ProtobufDecodeError` only for text that looks like base64 but is not.
 */
export function protobufBytesOf(bytes: Uint8Array): Uint8Array {
  return isBase64Text(bytes) ? fromBase64(Buffer.from(bytes).toString('latin1')) : bytes;
}
