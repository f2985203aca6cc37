/**
 * Reads a JSON request body with a size limit: 415 when it is not JSON, 413 over the limit,
 * 400 when it does not parse. Used only by routes that take a body.
 */
import type { Context } from 'koa';
import { ValidationError } from '../shared/errors';

export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  if (!ctx.is('application/json', '+json')) {
    throw new ValidationError(`Content-Type must be application/json (got "${ctx.get('content-type') || 'none'}")`, undefined, 415, 'unsupported_media_type');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false — leaving the loop early must not reset the connection before the 413.
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      // Answer 413 rather than resetting the socket under a client that is still sending:
      // discard the rest while the answer goes out, then close the connection.
      ctx.set('Connection', 'close');
      ctx.req.resume();
      throw tooLarge(limitBytes);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new ValidationError('request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

function tooLarge(limit: number) {
  return new ValidationError(`request body exceeds the limit of ${limit} bytes (MAX_BODY_BYTES)`, undefined, 413, 'payload_too_large');
}
