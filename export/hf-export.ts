/**
 * `format=hf`: a zip in the Hugging Face dataset layout, streamed: `data/train-0000k-of-0000N.parquet`
 * (the rows shared out over N files of at most `perShard` conversations each, N from the number
 * of ids the export starts with; a shard the filters left empty is an empty file, so every name
 * exists) and then `README.md`, the dataset card (export/dataset-card.ts) rendered from what was
 * written.
 */
import type { ExportItem } from './conversation-lines';
import { CardTally, cardSettingsOf, renderDatasetCard, type CardContext } from './dataset-card';
import type { ExportOptions } from './export-options';
import { DEFAULT_EXPORT_BATCH, exportItems, newExportStats, type ConversationLoader, type ExportStats } from './export-stream';
import { parquetRow } from './parquet-rows';
import { ParquetStreamWriter, type ParquetStreamOptions } from './parquet-stream';
import { ZipStream } from './zip-stream';

/** Conversations per Parquet file by default. */
export const HF_SHARD_CONVERSATIONS = 100_000;

/** The name of shard `k` of `n`, as `datasets` and the Hub name them. */
export const shardName = (k: number, n: number): string =>
  `data/train-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.parquet`;

export interface HfExportPlan {
  /** How many ids the export starts with (the run's admitted conversations). */
  total: number;
  perShard?: number;
  writer?: ParquetStreamOptions;
}

/** The card's facts that do not come from the rows. */
export type HfCardFacts = Omit<CardContext, 'opts' | 'stats' | 'files' | 'dataGlob' | 'exportedAt'>;

/** Streams the `hf` zip of the conversations `ids` names. */
export async function* exportHf(
  ids: AsyncIterable<string> | Iterable<string>,
  load: ConversationLoader,
  opts: ExportOptions,
  facts: HfCardFacts,
  plan: HfExportPlan,
  stats: ExportStats = newExportStats(),
  batchSize = DEFAULT_EXPORT_BATCH,
): AsyncGenerator<Uint8Array> {
  const perShard = plan.perShard ?? HF_SHARD_CONVERSATIONS;
  const shards = Math.max(1, Math.ceil(plan.total / perShard));
  const zip = new ZipStream();
  const tally = new CardTally();
  const files: string[] = [];
  let shard = 0;
  let file = new ParquetStreamWriter(plan.writer);
  files.push(shardName(0, shards));
  yield zip.begin(files[0]!);
  const next = function* (): Generator<Uint8Array> {
    yield zip.data(file.finish());
    yield zip.end();
    shard++;
    file = new ParquetStreamWriter(plan.writer);
    files.push(shardName(shard, shards));
    yield zip.begin(files[shard]!);
  };
  for await (const item of exportItems(ids, load, opts, stats, batchSize, true) as AsyncIterable<ExportItem>) {
    const made = parquetRow(item, opts.assistant);
    if (!made) {
      stats.empty++;
      continue;
    }
    if (file.count >= perShard && shard < shards - 1) yield* next();
    stats.exported++;
    tally.add(made.row, made.provenance, cardSettingsOf(item.record.settings));
    const bytes = file.add(made.row);
    if (bytes) yield zip.data(bytes);
  }
  while (shard < shards - 1) yield* next();
  yield zip.data(file.finish());
  yield zip.end();
  const card = renderDatasetCard({ ...facts, opts, stats, files, dataGlob: 'data/train-*', exportedAt: new Date() }, tally);
  yield zip.file('README.md', Buffer.from(card, 'utf8'));
  yield zip.finish();
}
