/**
 * Whether a `POST /runs` JSON body is a generator (`{"generator": {...}, ...settings}`) or JSON
 * Lines of seeds, told apart without holding a seed file: up to {@link GENERATOR_BODY_MAX_BYTES}
 * are read; a body that ends within them and parses as one object with `generator` is a generator,
 * anything else is given back whole (the bytes read, then the rest) for the seed reader.
 */
import { Readable } from 'node:stream';

/** The largest generator body (its lists inline). */
export const GENERATOR_BODY_MAX_BYTES = 8 * 1024 * 1024;

export type JsonRunBody = { kind: 'generator'; generator: unknown; settings: Record<string, unknown> } | { kind: 'seeds'; body: Readable };

export async function readJsonRunBody(body: Readable, maxBytes = GENERATOR_BODY_MAX_BYTES): Promise<JsonRunBody> {
  const it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let bytes = 0;
  let ended = false;
  while (bytes <= maxBytes) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    chunks.push(chunk);
    bytes += chunk.length;
  }
  if (ended) {
    const whole = Buffer.concat(chunks);
    let parsed: unknown;
    try {
      parsed = JSON.parse(whole.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'generator' in parsed) {
      const { generator, ...settings } = parsed as Record<string, unknown>;
      return { kind: 'generator', generator, settings };
    }
    return { kind: 'seeds', body: Readable.from([whole]) };
  }
  async function* replay() {
    yield* chunks;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { kind: 'seeds', body: Readable.from(replay()) };
}
