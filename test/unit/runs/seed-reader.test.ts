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

  it('CSV records are numbered by the line they start on, across quoted newlines', async () => {
    const seeds = await all(
      readSeeds(chunks('initialQuery,maxTurns,tag\n"two\nlines",3,x\nplain,,y\n'), 'csv', { maxLineBytes: 1000, maxTotalBytes: 10_000 }),
    );
    assert.deepEqual(seeds, [
      { line: 2, fields: { initialQuery: 'two\nlines', maxTurns: 3 }, meta: { tag: 'x' } },
      { line: 4, fields: { initialQuery: 'plain' }, meta: { tag: 'y' } },
    ]);
  });

  it('a CSV with CRLF and LF lines mixed reads every line as its own row (nothing merged into meta)', async () => {
    const body = 'initialQuery,topic\r\nA one,x\r\nB two,y\n"C, three",z\r\nD four,w\n';
    const seeds = await all(readSeeds(chunks(body), 'csv', { maxLineBytes: 1000, maxTotalBytes: 10_000 }));
    assert.deepEqual(
      seeds.map((s) => [s.line, s.fields?.initialQuery, s.meta?.topic]),
      [
        [2, 'A one', 'x'],
        [3, 'B two', 'y'],
        [4, 'C, three', 'z'],
        [5, 'D four', 'w'],
      ],
    );
  });

  it('an unterminated quote rejects its line and the lines after it are still read; ragged rows are rejected', async () => {
    const body = 'initialQuery,topic\nfine,a\n"unclosed,b\nnext,c\nextra,d,e\nshort\nlast,f\n';
    const seeds = await all(readSeeds(chunks(body), 'csv', { maxLineBytes: 1000, maxTotalBytes: 10_000 }));
    assert.deepEqual(
      seeds.map((s) => [s.line, s.fields?.initialQuery ?? s.error?.split(':')[0]?.split(' where')[0]]),
      [
        [2, 'fine'],
        [3, 'unterminated quote'],
        [4, 'next'],
        [5, '3 fields'],
        [6, '1 field'],
        [7, 'last'],
      ],
    );
  });

  it('a CSV header that cannot be read, or without an initialQuery column, is refused with 400 naming it', async () => {
    const read = (body: string) => all(readSeeds(chunks(body), 'csv', { maxLineBytes: 1000, maxTotalBytes: 10_000 }));
    for (const [body, message] of [
      ['question\nx\n', /needs an "initialQuery" column \(found: question\)/],
      ['"initialQuery,topic\nx,y\n', /header \(line 1\) cannot be read: unterminated quote/],
      ['initialQuery,topic,topic\nx,y,z\n', /names column "topic" twice/],
      ['initialQuery,\nx,\n', /column 2 of the header has no name/],
    ] as const) {
      await assert.rejects(read(body), (err: Error & { status?: number }) => {
        assert.equal(err.status, 400);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('knows the upload formats by Content-Type', () => {
    assert.equal(seedFormatOf('application/x-ndjson; charset=utf-8'), 'ndjson');
    assert.equal(seedFormatOf('text/plain'), 'text');
    assert.equal(seedFormatOf('text/csv'), 'csv');
    assert.equal(seedFormatOf('application/xml'), undefined);
  });
});
