/**
 * Reads a JSON request body with a size limit: 415 when it is not JSON, 413 over the limit,
 * 400 when it does not parse. Used only by routes that take a body.
 *
 * Not `@koa/bodyparser` (co-body/raw-body): it answers nothing for a non-JSON type (we owe a 415),
 * turns an empty body into `{}` (we name the fault), and on the limit pauses the request, leaving
 * a client that is still sending a large chunked body waiting instead of reading its 413.
 */
import type { Context } from 'koa';
import { RequestBodyError, ValidationError } from '../shared/errors';

export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  if (!ctx.is('application/json', '+json')) {
    throw new RequestBodyError(`Content-Type must be application/json (got "${ctx.get('content-type') || 'none'}")`, 415);
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
  return new RequestBodyError(`request body exceeds the limit of ${limit} bytes (MAX_BODY_BYTES)`, 413);
}
