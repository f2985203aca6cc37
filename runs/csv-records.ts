/**
 * CSV records from numbered lines (runs/seed-reader.ts `readLines`: LF or CRLF, mixed in one file,
 * each line's CR dropped), in bounded memory. RFC 4180: fields separated by commas, a field in
 * double quotes may hold commas, `""` and line breaks; a quote inside an unquoted field is kept as
 * it is. Every non-blank line ends up in a record or in a rejected line with its number and
 * reason, and reading always goes on:
 *  - a quoted field not closed by the end of the upload or within `maxRecordBytes` (an
 *    unterminated quote) rejects the line it opened on, and the lines after it are read again
 *    as records of their own;
 *  - text after a closing quote rejects the record's first line (its other lines are read again);
 *  - the first record is the header; a later record with another number of fields is rejected
 *    (a ragged row), its other lines read again.
 */

/** A record (its fields and the line it starts on) or a line that is not one, with the reason. */
export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

export interface NumberedLine {
  line: number;
  text?: string;
  tooLong?: boolean;
}

/** Scans a record's text line by line; `open` while a quoted field goes on past the line. */
class RecordScanner {
  readonly fields: string[] = [];
  private field = '';
  private state: 'start' | 'bare' | 'quoted' | 'closed' = 'start';
  error?: string;

  get open(): boolean {
    return this.state === 'quoted' && this.error === undefined;
  }

  push(text: string): void {
    if (this.state === 'quoted') this.field += '\n';
    let i = 0;
    while (i <= text.length && this.error === undefined) {
      if (this.state === 'start') {
        if (text[i] === '"') {
          this.state = 'quoted';
          i++;
        } else this.state = 'bare';
      } else if (this.state === 'bare') {
        const comma = text.indexOf(',', i);
        if (comma < 0) {
          this.field += text.slice(i);
          return;
        }
        this.field += text.slice(i, comma);
        this.next();
        i = comma + 1;
      } else if (this.state === 'quoted') {
        const q = text.indexOf('"', i);
        if (q < 0) {
          this.field += text.slice(i);
          return;
        }
        this.field += text.slice(i, q);
        if (text[q + 1] === '"') {
          this.field += '"';
          i = q + 2;
        } else {
          this.state = 'closed';
          i = q + 1;
        }
      } else {
        if (i === text.length) return;
        if (text[i] !== ',') {
          this.error = `text after the closing quote of field ${this.fields.length + 1} (a quote inside a quoted field is written "")`;
          return;
        }
        this.next();
        i++;
      }
    }
  }

  private next(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = 'start';
  }

  /** The record's fields (the line ended it). */
  end(): string[] {
    this.fields.push(this.field);
    return this.fields;
  }
}

/** The records of `lines`; the first record yielded is the header (a line that is not one comes before it as an error). */
export async function* readCsvRecords(lines: AsyncIterable<NumberedLine>, maxRecordBytes: number): AsyncGenerator<CsvRecord> {
  const source = lines[Symbol.asyncIterator]();
  // Lines to read again, in order, before the source's next one.
  const again: NumberedLine[] = [];
  const next = async (): Promise<NumberedLine | undefined> => {
    if (again.length) return again.shift();
    const r = await source.next();
    return r.done ? undefined : r.value;
  };
  const tooLong = `line longer than ${maxRecordBytes} bytes (RUN_MAX_LINE_BYTES)`;
  let columns: number | undefined;
  for (;;) {
    const first = await next();
    if (!first) return;
    if (first.tooLong) {
      yield { line: first.line, error: tooLong };
      continue;
    }
    const text = first.line === 1 ? first.text!.replace(/^\uFEFF/, '') : first.text!;
    if (text.trim() === '') continue;
    const scanner = new RecordScanner();
    scanner.push(text);
    const held: NumberedLine[] = [];
    let bytes = Buffer.byteLength(text);
    let unclosed: string | undefined;
    while (scanner.open) {
      const l = await next();
      if (!l) {
        unclosed = 'the upload ends inside it';
        break;
      }
      const size = l.tooLong ? Number.POSITIVE_INFINITY : Buffer.byteLength(l.text!) + 1;
      if (bytes + size > maxRecordBytes) {
        again.unshift(l);
        unclosed = `not closed within RUN_MAX_LINE_BYTES=${maxRecordBytes} bytes`;
        break;
      }
      held.push(l);
      bytes += size;
      scanner.push(l.text!);
    }
    let error: string | undefined;
    let fields: string[] | undefined;
    if (unclosed)
      error = `unterminated quote: the quoted field opened on this line is not closed (${unclosed}); the lines after it were read as records`;
    else if (scanner.error && held.length) {
      const at = held[held.length - 1]!.line;
      error = `unterminated quote? the quoted field opened on this line closes on line ${at} with text after it; the lines after this one were read as records`;
    } else if (scanner.error) error = scanner.error;
    else {
      fields = scanner.end();
      if (columns === undefined) columns = fields.length;
      else if (fields.length !== columns) {
        error = `${fields.length} field${fields.length === 1 ? '' : 's'} where the header has ${columns} (a value holding a comma goes in double quotes)`;
      }
    }
    if (error === undefined) {
      yield { line: first.line, fields: fields! };
      continue;
    }
    // A record that is not one: its first line is rejected, every other line is read again.
    again.unshift(...held);
    yield { line: first.line, error };
  }
}
