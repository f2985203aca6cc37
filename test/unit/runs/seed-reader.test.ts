import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readLines, readSeeds, seedFormatOf, type RawSeed } from '../../../runs/seed-reader';

const limits = { maxLineBytes: 20, maxTotalBytes: 1000 };
const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

async function all<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe('seed reader', () => {
  it('splits lines across chunk boundaries, numbers them, and strips CR', async () => {
    const lines = await all(readLines(chunks('ab', 'c\r\nde', 'f\n\nlast'), limits));
    assert.deepEqual(lines, [
      { line: 1, text: 'abc' },
      { line: 2, text: 'def' },
      { line: 3, text: '' },
      { line: 4, text: 'last' },
    ]);
  });

  it('a line over the limit is reported by number and skipped; the next line is read', async () => {
    const lines = await all(readLines(chunks('ok\n', 'x'.repeat(15), 'y'.repeat(15), '\nnext\n'), limits));
    assert.deepEqual(lines, [
      { line: 1, text: 'ok' },
      { line: 2, tooLong: true },
      { line: 3, text: 'next' },
    ]);
  });

  it('an upload over the total limit fails with 413 naming RUN_MAX_BODY_BYTES', async () => {
    await assert.rejects(all(readLines(chunks('a\n'.repeat(400), 'b\n'.repeat(400)), limits)), (err: Error & { status?: number }) => {
      assert.equal(err.status, 413);
      assert.match(err.message, /RUN_MAX_BODY_BYTES/);
      return true;
    });
  });

  it('NDJSON lines become fields, seed id and meta; bad lines carry a reason', async () => {
    const body = ['{"initialQuery":"q","id":7,"meta":{"a":1},"maxTurns":2}', '', '{"initialQuery":"q","meta":[1]}', '"str"', '{bad'].join(
      '\n',
    );
    const seeds: RawSeed[] = await all(readSeeds(chunks(body), 'ndjson', { maxLineBytes: 1000, maxTotalBytes: 10_000 }));
    assert.deepEqual(seeds[0], { line: 1, fields: { initialQuery: 'q', maxTurns: 2 }, seedId: '7', meta: { a: 1 } });
    assert.deepEqual(
      seeds.slice(1).map((s) => [s.line, s.error?.split(':')[0]]),
      [
        [3, 'meta'],
        [4, 'not a JSON object (expected {"initialQuery"'],
        [5, 'not valid JSON'],
      ],
    );
  });

  it('CSV records keep their line numbers across quoted newlines', async () => {
    const seeds = await all(
      readSeeds(chunks('initialQuery,maxTurns,tag\n"two\nlines",3,x\nplain,,y\n'), 'csv', { maxLineBytes: 1000, maxTotalBytes: 10_000 }),
    );
    assert.deepEqual(seeds, [
      { line: 3, fields: { initialQuery: 'two\nlines', maxTurns: 3 }, meta: { tag: 'x' } },
      { line: 4, fields: { initialQuery: 'plain' }, meta: { tag: 'y' } },
    ]);
  });

  it('a CSV that stops parsing is refused with 400 naming the place', async () => {
    const seen: RawSeed[] = [];
    await assert.rejects(
      (async () => {
        for await (const s of readSeeds(chunks('initialQuery\nfine\n', '"unclosed\n'), 'csv', {
          maxLineBytes: 1000,
          maxTotalBytes: 10_000,
        }))
          seen.push(s);
      })(),
      (err: Error & { status?: number }) => {
        assert.equal(err.status, 400);
        assert.match(err.message, /CSV upload cannot be read past this point.*line 3/i);
        return true;
      },
    );
    assert.ok(seen.every((s) => s.fields?.initialQuery === 'fine'));
  });

  it('knows the upload formats by Content-Type', () => {
    assert.equal(seedFormatOf('application/x-ndjson; charset=utf-8'), 'ndjson');
    assert.equal(seedFormatOf('text/plain'), 'text');
    assert.equal(seedFormatOf('text/csv'), 'csv');
    assert.equal(seedFormatOf('application/xml'), undefined);
  });
});
