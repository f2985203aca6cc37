/**
 * Renders a conversation as its CSV transcript (README, "CSV transcript"): the seed's
 * columns under their names, then ours.
 * RFC 4180 via csv-stringify; ISO 8601 UTC timestamps; cells a spreadsheet would run as a formula
 * are neutralised with a leading apostrophe unless disabled.
 */
import { stringify } from 'csv-stringify/sync';
import type { ConversationRecord, TurnRecord } from '../conversation/model';

export const CSV_COLUMNS = [
  'timestamp',
  'query',
  'cloud_response',
  'ollama_response',
  'processing_time_ms',
  'conversation_id',
  'turn',
  'cloud_model',
  'local_model',
  'cloud_latency_ms',
  'local_latency_ms',
  'cloud_input_tokens',
  'cloud_output_tokens',
  'local_input_tokens',
  'local_output_tokens',
  'stop_reason',
  'cloud_cost_usd',
  'local_cost_usd',
  // Set when a fallback model (cloud_model) answered: the model asked first.
  'cloud_fallback',
  // Which side's reply of the turn was cut at its token cap or context window: cloud, local,
  // both, or empty when neither was.
  'truncated',
  // Cloud input tokens read from / written to Bedrock's prompt cache (not in cloud_input_tokens).
  'cloud_cache_read_tokens',
  'cloud_cache_write_tokens',
] as const;

const FORMULA_START = /^\s*[=+\-@\t\r]/;

/** Prefixes a cell that starts (after optional whitespace) with = + - @ tab or CR. */
export function neutraliseFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

export interface CsvOptions {
  escapeFormulas: boolean;
  /** A step's cost in USD, null when its model has no price (the cell is then empty). Absent: empty cells. */
  costOf?: (
    side: 'cloud' | 'local',
    step: { model: string; inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number },
  ) => number | null;
}

/** One row per turn that has a cloud answer; a turn cut short keeps an empty follow-up. */
export function transcriptRows(
  record: ConversationRecord,
  turns: TurnRecord[],
  costOf?: CsvOptions['costOf'],
): Record<(typeof CSV_COLUMNS)[number], string | number>[] {
  const cost = (side: 'cloud' | 'local', step: Parameters<NonNullable<CsvOptions['costOf']>>[1] | undefined) =>
    step && costOf ? (costOf(side, step) ?? '') : '';
  const stop = record.stopReason ?? record.pendingStop ?? '';
  return turns
    .filter((t) => t.cloud)
    .map((t) => {
      const c = t.cloud!;
      const l = t.local;
      return {
        timestamp: new Date(c.startedAt).toISOString(),
        query: c.question,
        cloud_response: c.answer,
        ollama_response: l?.followUp ?? '',
        processing_time_ms: c.latencyMs + (l?.latencyMs ?? 0),
        conversation_id: record.id,
        turn: t.turn,
        cloud_model: c.model,
        local_model: l?.model ?? '',
        cloud_latency_ms: c.latencyMs,
        local_latency_ms: l?.latencyMs ?? '',
        cloud_input_tokens: c.inputTokens,
        cloud_output_tokens: c.outputTokens,
        local_input_tokens: l?.inputTokens ?? '',
        local_output_tokens: l?.outputTokens ?? '',
        stop_reason: stop,
        cloud_cost_usd: cost('cloud', c),
        local_cost_usd: cost('local', l),
        cloud_fallback: c.requestedModel ?? '',
        truncated: truncatedCell(c.truncated, l?.truncated),
        cloud_cache_read_tokens: c.cacheReadInputTokens ?? 0,
        cloud_cache_write_tokens: c.cacheWriteInputTokens ?? 0,
      };
    });
}

function truncatedCell(cloud: boolean | undefined, local: boolean | undefined): string {
  return cloud && local ? 'both' : cloud ? 'cloud' : local ? 'local' : '';
}

export function renderTranscriptCsv(record: ConversationRecord, turns: TurnRecord[], opts: CsvOptions): string {
  const rows = transcriptRows(record, turns, opts.costOf);
  return stringify(rows, {
    header: true,
    columns: [...CSV_COLUMNS],
    record_delimiter: '\r\n',
    quoted_match: /[\r\n",]/,
    cast: { string: (v) => (opts.escapeFormulas ? neutraliseFormula(v) : v) },
  });
}
