import assert from 'node:assert/strict';
import { readCsvRecords, type CsvRecord, type NumberedLine } from '../../../runs/csv-records';

async function records(lines: (string | null)[], max = 100): Promise<CsvRecord[]> {
  const numbered = async function* (): AsyncGenerator<NumberedLine> {
    for (const [i, text] of lines.entries()) yield text === null ? { line: i + 1, tooLong: true } : { line: i + 1, text };
  };
  const out: CsvRecord[] = [];
  for await (const r of readCsvRecords(numbered(), max)) out.push(r);
  return out;
}

const brief = (rs: CsvRecord[]) => rs.map((r) => ('error' in r ? [r.line, r.error.split(/[:(?]/)[0]!.trim()] : [r.line, ...r.fields]));

describe('CSV records', () => {
  it('reads quoted fields with commas, "" and line breaks; a quote inside an unquoted field is kept; a BOM and blank lines are dropped', async () => {
    const rs = await records(['\uFEFFa,b', '"x, y","say ""hi"""', '', 'he said "no",z', '"two', 'lines",', '  ', 'p,q']);
    assert.deepEqual(brief(rs), [
      [1, 'a', 'b'],
      [2, 'x, y', 'say "hi"'],
      [4, 'he said "no"', 'z'],
      [5, 'two\nlines', ''],
      [8, 'p', 'q'],
    ]);
  });

  it('every line is a record or a rejected line with its number: unterminated quotes, text after a closing quote, ragged rows, long lines', async () => {
    const rs = await records(['a,b', '"x"y,2', 'e,f,g', null, 'h,i', '"open,1', 'c,d']);
    assert.deepEqual(brief(rs), [
      [1, 'a', 'b'],
      [2, 'text after the closing quote of field 1'],
      [3, '3 fields where the header has 2'],
      [4, 'line longer than 100 bytes'],
      [5, 'h', 'i'],
      [6, 'unterminated quote'],
      [7, 'c', 'd'],
    ]);
    assert.match((rs[5] as { error: string }).error, /not closed \(the upload ends inside it\)/);
  });

  it('a quoted field still open after maxRecordBytes rejects its line; the lines it held are read again', async () => {
    const rs = await records(['a,b', '"long', 'x'.repeat(60), 'y'.repeat(60), 'k,l'], 100);
    assert.deepEqual(brief(rs), [
      [1, 'a', 'b'],
      [2, 'unterminated quote'],
      [3, '1 field where the header has 2'],
      [4, '1 field where the header has 2'],
      [5, 'k', 'l'],
    ]);
    assert.match((rs[1] as { error: string }).error, /not closed within RUN_MAX_LINE_BYTES=100 bytes/);
  });

  it('a multi-line record that turns out ragged or malformed gives its other lines back', async () => {
    // Line 2's quote closes on line 4 with text after it: line 2 is rejected, 3 and 4 are read again.
    const rs = await records(['a,b', '"oops,1', 'c,d', 'e"x,f', 'g,h']);
    assert.deepEqual(brief(rs), [
      [1, 'a', 'b'],
      [2, 'unterminated quote'],
      [3, 'c', 'd'],
      [4, 'e"x', 'f'],
      [5, 'g', 'h'],
    ]);
    assert.match((rs[1] as { error: string }).error, /closes on line 4 with text after it/);
  });
});
