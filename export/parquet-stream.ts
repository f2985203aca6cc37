/**
 * A Parquet file written as it goes (hyparquet-writer's `ParquetWriter` over its `ByteWriter`):
 * rows are buffered into a row group of at most {@link ROW_GROUP_ROWS} rows or
 * {@link ROW_GROUP_TEXT} characters of text, whichever comes first; each full group is encoded
 * (Snappy) and its bytes handed out at once, the writer's buffer reused. What is held is one row
 * group and, until the footer, each group's small metadata, so memory does not grow with the run.
 */
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ColumnSource } from 'hyparquet-writer';
import { LONG_TEXT_COLUMNS, PARQUET_COLUMNS, PARQUET_SCHEMA, rowWeight, type ParquetRow } from './parquet-rows';

/**
 * Rows per row group at most (the Hugging Face viewer reads a group at a time; small groups keep
 * that cheap). 100, the export's batch: with 500 the export's peak RSS grew 1.39-1.42× from 2,000
 * to 20,000 conversations, with 200-250 1.33×, with 100 1.14-1.19×, where the JSONL export's own
 * grows 1.13-1.15× on the same runs (`npm run bench -- --only=parquet`, 4 Dec 2026, BENCHMARKS.md):
 * what a group's encoding allocates outlives V8's young generation in bigger groups, and the old
 * space grows with the export. The price: a file about 1.5× the size on the bench's repetitive text.
 */
export const ROW_GROUP_ROWS = 100;
/** Characters of text per row group at most, so long conversations make smaller groups. */
export const ROW_GROUP_TEXT = 4 * 2 ** 20;

export interface ParquetStreamOptions {
  rowGroupRows?: number;
  rowGroupText?: number;
  /** Key-value metadata in the footer. */
  kvMetadata?: { key: string; value: string }[];
}

/** GZIP by Node's zlib (native), level 1: faster than the writer's Snappy in JavaScript, and smaller. */
const gzip = (input: Uint8Array): Uint8Array => gzipSync(input, { level: 1 });

/** One Parquet file: {@link add} rows, take the bytes it hands back, then {@link finish}. */
export class ParquetStreamWriter {
  private readonly bytes = new ByteWriter(64 * 1024);
  private readonly pq: ParquetWriter;
  private rows: ParquetRow[] = [];
  private text = 0;
  private readonly maxRows: number;
  private readonly maxText: number;
  /** Rows written so far (in finished groups and the one being filled). */
  count = 0;
  /** Row groups written. */
  groups = 0;

  constructor(opts: ParquetStreamOptions = {}) {
    this.maxRows = opts.rowGroupRows ?? ROW_GROUP_ROWS;
    this.maxText = opts.rowGroupText ?? ROW_GROUP_TEXT;
    this.pq = new ParquetWriter({
      writer: this.bytes,
      schema: PARQUET_SCHEMA,
      createdBy: 'llmconv (hyparquet-writer)',
      codec: 'GZIP',
      compressors: { GZIP: gzip },
      ...(opts.kvMetadata ? { kvMetadata: opts.kvMetadata } : {}),
    });
  }

  /** Adds a row; returns the bytes of a finished row group (the first call also carries the file's magic), or undefined. */
  add(row: ParquetRow): Uint8Array | undefined {
    this.rows.push(row);
    this.count++;
    this.text += rowWeight(row);
    if (this.rows.length >= this.maxRows || this.text >= this.maxText) {
      this.flushGroup();
      return this.take();
    }
    return undefined;
  }

  /** The last row group, the indexes and the footer. */
  finish(): Uint8Array {
    this.flushGroup();
    void this.pq.finish();
    const out = this.take();
    return this.groups === 0 ? fixEmptyRowGroupList(out) : out;
  }

  private flushGroup(): void {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.text = 0;
    const columnData: ColumnSource[] = PARQUET_COLUMNS.map((name) =>
      LONG_TEXT_COLUMNS.has(name)
        ? { name, data: rows.map((r) => r[name]), encoding: 'PLAIN', statistics: false }
        : { name, data: rows.map((r) => r[name]) },
    );
    void this.pq.write({ columnData, rowGroupSize: rows.length });
    this.groups++;
  }

  /** The bytes written since the last take, copied out; the buffer is reused. */
  private take(): Uint8Array {
    const out = this.bytes.getBytes().slice();
    this.bytes.index = 0;
    return out;
  }
}

/**
 * hyparquet-writer 0.17 writes an empty `row_groups` list with element type 0 in the footer's
 * Thrift (compact protocol), which strict readers (arrow-rs: "Expected list element type of
 * Struct") refuse; a file of zero rows gets the list's header fixed to "0 elements of STRUCT".
 * The footer's `num_rows` (field 3, i64 0: bytes 0x16 0x00) is followed by `row_groups` (field 4,
 * a list: 0x19) and the list header (size 0, element type: 0x00, fixed to 0x0c); schema elements
 * have no i64 field, so the sequence occurs once, after the schema.
 */
function fixEmptyRowGroupList(file: Uint8Array): Uint8Array {
  for (let i = file.length - 8; i >= 4; i--) {
    if (file[i] === 0x16 && file[i + 1] === 0x00 && file[i + 2] === 0x19 && file[i + 3] === 0x00) {
      file[i + 3] = 0x0c;
      return file;
    }
  }
  throw new Error('the Parquet footer of an empty file has no empty row_groups list where expected (hyparquet-writer changed?)');
}
