/**
 * The streaming exporter: conversation ids in, dataset text out, in bounded memory. Ids are
 * taken `batchSize` at a time, the batch is loaded (one round trip per conversation, all of a
 * batch in flight together), filtered and rendered, and the next batch is loaded only when the
 * consumer has pulled every line of this one: a slow HTTP client or disk slows the reads down
 * instead of filling memory.
 */
import { conversationCost } from '../cost/conversation-cost';
import { ownTurns } from '../conversation/fork-rules';
import type { PriceTable } from '../cost/price-table';
import type { ConversationStore, JudgeStore } from '../store/interfaces';
import { exportCsvHeader, exportCsvRows, openaiLine, sharegptLine, type ExportItem } from './conversation-lines';
import { passesScoreFilters, type ExportOptions } from './export-options';
import { preferenceLines } from './preference-pairs';

/** Loads conversations by id (null for one that no longer exists, e.g. expired). */
export type ConversationLoader = (ids: string[]) => Promise<(ExportItem | null)[]>;

/** What an export did, counted as it goes. */
export interface ExportStats {
  /** Ids read from the source. */
  seen: number;
  /** Conversations written (a line, or CSV rows). */
  exported: number;
  /** Left out by the status / stop reason filters. */
  filtered: number;
  /** Kept by the filters but without a usable exchange (nothing to write). */
  empty: number;
  /** Ids whose conversation is gone (expired or deleted). */
  missing: number;
  /** The most conversations held at once (never more than the batch size). */
  maxHeld: number;
}

export const newExportStats = (): ExportStats => ({ seen: 0, exported: 0, filtered: 0, empty: 0, missing: 0, maxHeld: 0 });

/** The default batch: enough to fill a Redis round trip, small enough to stay a few MB. */
export const DEFAULT_EXPORT_BATCH = 100;

/** Whether a conversation passes the status and stop reason filters. */
export function passesFilters(conv: ExportItem, opts: Pick<ExportOptions, 'statuses' | 'stopReasons' | 'scoreFilters' | 'dedup'>): boolean {
  const { record } = conv;
  if (!opts.statuses.has(record.status)) return false;
  if (opts.dedup && record.nearDuplicateOf) return false;
  const reason = record.stopReason ?? record.pendingStop;
  if (opts.stopReasons && (reason === undefined || !opts.stopReasons.has(reason))) return false;
  return passesScoreFilters(conv.judge, opts.scoreFilters);
}

/** The text of one conversation in `opts.format`, or undefined when it has nothing to write. */
export function renderConversation(conv: ExportItem, opts: ExportOptions): string | undefined {
  switch (opts.format) {
    case 'openai':
      return openaiLine(conv, opts.assistant, { metadata: opts.metadata, weights: opts.weights });
    case 'sharegpt':
      return sharegptLine(conv, opts.assistant, { metadata: opts.metadata, system: opts.sharegptSystem });
    case 'csv':
      return exportCsvRows(conv, opts.escapeFormulas, opts.prices) || undefined;
    case 'dpo':
      // A pair needs a conversation's siblings: exportPreferencePairs.
      return undefined;
    default:
      throw new Error(`format ${opts.format} is not a text format (export/parquet-export.ts writes it)`);
  }
}

/** The forks of a conversation (store/conversation-store.ts `forks`). */
export type ForksOf = (parentId: string) => Promise<{ id: string; atTurn: number }[]>;

/**
 * Streams `format=dpo`: for each conversation `ids` names, its forks are loaded with it and the
 * preference lines of each branch point written (export/preference-pairs.ts). Bounded as
 * {@link exportConversations}: a batch of conversations at a time, and of one conversation's
 * forks `batchSize` at a time until they are ranked (a family is held whole, its lines only
 * until pulled). A fork the source names too is exported as a parent of its own forks, never twice.
 * `stats.exported` counts lines, `stats.empty` branch points that made none (a tie, fewer than
 * two scored answers), `stats.filtered` conversations the filters left out.
 */
export async function* exportPreferencePairs(
  ids: AsyncIterable<string> | Iterable<string>,
  load: ConversationLoader,
  forksOf: ForksOf,
  opts: ExportOptions,
  stats: ExportStats = newExportStats(),
  batchSize = DEFAULT_EXPORT_BATCH,
): AsyncGenerator<string> {
  const keep = (item: ExportItem) => {
    if (passesFilters(item, opts)) return true;
    stats.filtered++;
    return false;
  };
  const family = async (parent: ExportItem): Promise<string[]> => {
    const forks = await forksOf(parent.record.id);
    if (forks.length === 0) return [];
    const loaded: { item: ExportItem; atTurn: number }[] = [];
    for (let i = 0; i < forks.length; i += batchSize) {
      const page = forks.slice(i, i + batchSize);
      const items = await load(page.map((f) => f.id));
      items.forEach((item, j) => {
        if (item) loaded.push({ item, atTurn: page[j]!.atTurn });
        else stats.missing++;
      });
    }
    stats.maxHeld = Math.max(stats.maxHeld, loaded.length + 1);
    const { lines, unpaired } = preferenceLines(parent, loaded, {
      assistant: opts.assistant,
      criterion: opts.rankBy,
      keep,
      ...(opts.pairChoice ? { choice: opts.pairChoice } : {}),
    });
    stats.empty += unpaired;
    return lines;
  };
  let batch: string[] = [];
  const flush = async function* (): AsyncGenerator<string> {
    const convs = await load(batch);
    batch = [];
    stats.maxHeld = Math.max(stats.maxHeld, convs.length);
    for (let i = 0; i < convs.length; i++) {
      const conv = convs[i];
      convs[i] = null;
      if (!conv) {
        stats.missing++;
        continue;
      }
      for (const line of await family(conv)) {
        stats.exported++;
        yield line;
      }
    }
  };
  for await (const id of ids) {
    stats.seen++;
    batch.push(id);
    if (batch.length >= batchSize) yield* flush();
  }
  if (batch.length) yield* flush();
}

/**
 * The conversations `ids` names that pass the filters, a batch loaded at a time and each dropped
 * from its batch as it is handed out (`stats.seen`, `missing`, `filtered` and `maxHeld` counted).
 * With `prefetch`, the next batch is loaded while this one is handed out (two batches held at
 * most): for a consumer that spends CPU on each batch (Parquet's encoding), so Redis works
 * meanwhile.
 */
export async function* exportItems(
  ids: AsyncIterable<string> | Iterable<string>,
  load: ConversationLoader,
  opts: Pick<ExportOptions, 'statuses' | 'stopReasons' | 'scoreFilters'>,
  stats: ExportStats,
  batchSize = DEFAULT_EXPORT_BATCH,
  prefetch = false,
): AsyncGenerator<ExportItem> {
  let batch: string[] = [];
  let inFlight = 0;
  const emit = async function* (convs: (ExportItem | null)[]): AsyncGenerator<ExportItem> {
    stats.maxHeld = Math.max(stats.maxHeld, convs.length + inFlight);
    for (let i = 0; i < convs.length; i++) {
      const conv = convs[i];
      // Dropped as soon as handed out, so the batch is released while its lines are consumed.
      convs[i] = null;
      if (!conv) {
        stats.missing++;
        continue;
      }
      if (!passesFilters(conv, opts)) {
        stats.filtered++;
        continue;
      }
      yield conv;
    }
  };
  let pending: Promise<(ExportItem | null)[]> | undefined;
  const flush = async function* (): AsyncGenerator<ExportItem> {
    const next = load(batch);
    const size = batch.length;
    batch = [];
    if (!prefetch) {
      yield* emit(await next);
      return;
    }
    // Swallowed here, thrown where it is awaited: a failed prefetch never goes unhandled.
    next.catch(() => undefined);
    const current = pending;
    pending = next;
    if (current) {
      // The batch just asked for is held too while this one is handed out.
      inFlight = size;
      yield* emit(await current);
    }
  };
  for await (const id of ids) {
    stats.seen++;
    batch.push(id);
    if (batch.length >= batchSize) yield* flush();
  }
  if (batch.length) yield* flush();
  if (pending) {
    inFlight = 0;
    yield* emit(await pending);
  }
}

/**
 * Streams the export of the conversations `ids` names in a text format: one chunk per
 * conversation (a JSONL line, or its CSV rows after one header chunk). `stats` is updated as the
 * export goes.
 */
export async function* exportConversations(
  ids: AsyncIterable<string> | Iterable<string>,
  load: ConversationLoader,
  opts: ExportOptions,
  stats: ExportStats = newExportStats(),
  batchSize = DEFAULT_EXPORT_BATCH,
): AsyncGenerator<string> {
  if (opts.format === 'csv') yield exportCsvHeader();
  for await (const conv of exportItems(ids, load, opts, stats, batchSize)) {
    const text = renderConversation(conv, opts);
    if (text === undefined) {
      stats.empty++;
      continue;
    }
    stats.exported++;
    yield text;
  }
}

/**
 * A loader over the conversation store: the whole batch in flight at once on one connection. With
 * `judges`, each conversation's judgement rides along; with `prices`, its cost.
 */
export function storeLoader(
  store: Pick<ConversationStore, 'getConversation'>,
  extras: { judges?: Pick<JudgeStore, 'get'>; prices?: PriceTable } = {},
): ConversationLoader {
  return (ids) =>
    Promise.all(
      ids.map(async (id): Promise<ExportItem | null> => {
        const [conv, judge] = await Promise.all([store.getConversation(id), extras.judges?.get(id)]);
        if (!conv) return null;
        const item: ExportItem = conv;
        if (judge !== undefined) item.judge = judge;
        // A fork's shared turns were billed to its parent.
        if (extras.prices) item.cost = conversationCost(ownTurns(conv.record.settings, conv.turns), extras.prices);
        return item;
      }),
    );
}
