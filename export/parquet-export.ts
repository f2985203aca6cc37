/**
 * `format=parquet`: the conversations as one Parquet file (export/parquet-rows.ts for a row,
 * export/parquet-stream.ts for the file), streamed: the ids are read and loaded a batch at a time
 * (export/export-stream.ts) and each row group's bytes go out as soon as it is full.
 */
import type { ExportOptions } from './export-options';
import { DEFAULT_EXPORT_BATCH, exportItems, newExportStats, type ConversationLoader, type ExportStats } from './export-stream';
import type { ExportItem } from './conversation-lines';
import { parquetRow, type ParquetRow } from './parquet-rows';
import { ParquetStreamWriter, type ParquetStreamOptions } from './parquet-stream';

/** The Parquet bytes of `items`, a row group at a time; `onRow` sees each row written. */
export async function* parquetChunks(
  items: AsyncIterable<ExportItem>,
  opts: Pick<ExportOptions, 'assistant'>,
  stats: ExportStats,
  onRow?: (row: ParquetRow, item: ExportItem) => void,
  writer: ParquetStreamOptions = {},
): AsyncGenerator<Uint8Array> {
  const file = new ParquetStreamWriter(writer);
  for await (const item of items) {
    const made = parquetRow(item, opts.assistant);
    if (!made) {
      stats.empty++;
      continue;
    }
    stats.exported++;
    onRow?.(made.row, item);
    const bytes = file.add(made.row);
    if (bytes) yield bytes;
  }
  yield file.finish();
}

/** Streams the Parquet export of the conversations `ids` names. */
export async function* exportParquet(
  ids: AsyncIterable<string> | Iterable<string>,
  load: ConversationLoader,
  opts: ExportOptions,
  stats: ExportStats = newExportStats(),
  batchSize = DEFAULT_EXPORT_BATCH,
): AsyncGenerator<Uint8Array> {
  yield* parquetChunks(exportItems(ids, load, opts, stats, batchSize, true), opts, stats);
}
