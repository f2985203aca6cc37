/**
 * What an export is asked for: the format, which model plays the assistant, and the status /
 * stop-reason filters, parsed from a query string with a 400 naming the bad parameter.
 */
import type { ConversationStatus, Side } from '../conversation/model';
import { TERMINAL_STATUSES } from '../conversation/model';
import { ValidationError } from '../shared/errors';
import type { Judgement } from '../store/interfaces';
import type { PriceTable } from '../cost/price-table';

/** One `filter=score.<criterion><op><number>` condition on the judge's scores. */
export interface ScoreFilter {
  criterion: string;
  op: '>=' | '<=' | '>' | '<' | '=';
  value: number;
}

const SCORE_FILTER = /^score\.([A-Za-z0-9_-]{1,64})\s*(>=|<=|==|=|>|<)\s*(-?\d+(?:\.\d+)?)$/;

/** Parses `score.helpfulness>=4`; undefined when it is not of that form. */
export function parseScoreFilter(text: string): ScoreFilter | undefined {
  const m = SCORE_FILTER.exec(text.trim());
  if (!m) return undefined;
  return { criterion: m[1]!, op: (m[2] === '==' ? '=' : m[2]) as ScoreFilter['op'], value: Number(m[3]) };
}

/**
 * Whether a judgement passes every score filter: none given passes all; with filters, only a
 * scored conversation whose every named criterion holds (an unscored or unjudged one never does).
 */
export function passesScoreFilters(judge: Judgement | null | undefined, filters: readonly ScoreFilter[] | undefined): boolean {
  if (!filters?.length) return true;
  if (judge?.status !== 'scored' || !judge.scores) return false;
  return filters.every((f) => {
    const v = judge.scores![f.criterion];
    if (v === undefined) return false;
    const compare: Record<ScoreFilter['op'], boolean> = {
      '>=': v >= f.value,
      '<=': v <= f.value,
      '>': v > f.value,
      '<': v < f.value,
      '=': v === f.value,
    };
    return compare[f.op];
  });
}

/** Which pairs of a prompt's scored answers make lines (`pairs`, `minMargin` on the export). */
export interface PairChoice {
  /** `best`: the best against the worst; `all`: every pair whose scores differ by at least `minMargin`. */
  pairs: 'best' | 'all';
  /** The least score difference of a pair (> 0 always: a tie is never a pair); default 0. */
  minMargin: number;
}

export const DEFAULT_PAIR_CHOICE: PairChoice = { pairs: 'best', minMargin: 0 };

export const EXPORT_FORMATS = ['openai', 'sharegpt', 'csv', 'dpo', 'parquet', 'hf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_STATUSES: readonly ConversationStatus[] = ['queued', 'running', ...TERMINAL_STATUSES];

export interface ExportOptions {
  format: ExportFormat;
  /** The model that plays the assistant in `openai` and `sharegpt` lines (default `cloud`). */
  assistant: Side;
  /** Only conversations in one of these statuses (default: the terminal ones, so a dataset never holds a conversation still being written). */
  statuses: ReadonlySet<string>;
  /** Only conversations that stopped for one of these reasons (all when absent). */
  stopReasons?: ReadonlySet<string>;
  /** Only conversations the judge scored so (`filter=score.helpfulness>=4`, all must hold). */
  scoreFilters?: ScoreFilter[];
  /** `dpo` only: the judge's criterion branches are ranked by (`score=helpfulness`); absent: the mean of all. */
  rankBy?: string;
  /** `dpo` only: `pairs=best` (default) or `all`, and `minMargin` (default 0): export/preference-pairs.ts. */
  pairChoice?: PairChoice;
  /** `filter=dedup`: leave out conversations flagged as near-duplicates of an earlier one of their run. */
  dedup?: boolean;
  /** CSV only: neutralise cells a spreadsheet would run as formulas (CSV_ESCAPE_FORMULAS). */
  escapeFormulas: boolean;
  /** CSV only: prices for the cost columns (empty cells without). */
  prices?: PriceTable;
  /** JSONL: add our `metadata` (provenance) to each line (`metadata=true`; default: openai no, sharegpt yes). */
  metadata: boolean;
  /** openai only: which assistant messages carry `weight` 1 (the rest 0); `none` writes no weight. */
  weights: WeightMark;
  /** sharegpt only: the system prompt as the first turn `{"from":"system"}` (default, axolotl's convention) or as a top-level `system` field. */
  sharegptSystem: 'turn' | 'field';
  /** hf only: the dataset card's `license` (a Hugging Face license id; default `other`). */
  license: string;
  /** hf only: the dataset card's `language` codes (ISO 639; none when not given). */
  language: string[];
}

/** Which assistant turns to train on: all, the last, none (no `weight` key), or the exchanges of these turn numbers. */
export type WeightMark = { mark: 'none' | 'all' | 'last' } | { mark: 'turns'; turns: ReadonlySet<number> };

/** The media type and file extension of a format. */
export function formatMedia(format: ExportFormat): { type: string; ext: string } {
  if (format === 'csv') return { type: 'text/csv; charset=utf-8', ext: 'csv' };
  if (format === 'parquet') return { type: 'application/vnd.apache.parquet', ext: 'parquet' };
  if (format === 'hf') return { type: 'application/zip', ext: 'zip' };
  return { type: 'application/x-ndjson; charset=utf-8', ext: 'jsonl' };
}

/** Whether the format is binary (no lines to count). */
export const isBinaryFormat = (format: ExportFormat): boolean => format === 'parquet' || format === 'hf';

const boolParam = (q: Query, name: string): boolean | undefined => {
  const v = single(q, name);
  if (v === undefined) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ValidationError(`${name} must be true or false, got "${v}"`);
};

/** Parses `weights=none|all|last|<turn>,<turn>…`. */
export function parseWeights(v: string | undefined): WeightMark {
  if (v === undefined || v === 'none') return { mark: 'none' };
  if (v === 'all' || v === 'last') return { mark: v };
  const turns = v.split(',').map((s) => s.trim());
  if (turns.length && turns.every((t) => /^[1-9]\d{0,5}$/.test(t))) return { mark: 'turns', turns: new Set(turns.map(Number)) };
  throw new ValidationError(`weights must be none, all, last or a comma-separated list of turn numbers (e.g. 2,3), got "${v}"`);
}

type Query = Record<string, string | string[] | undefined>;

const single = (q: Query, name: string): string | undefined => {
  const v = q[name];
  if (Array.isArray(v))
    throw new ValidationError(`${name} is given ${v.length} times; give it once (a comma-separated list where a list is allowed)`);
  return v;
};

/** A comma-separated list (repeated parameters are joined too); undefined when absent or empty. */
const list = (q: Query, name: string): string[] | undefined => {
  const v = q[name];
  const items = (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};

/** `pairs=best|all` and `minMargin=<number ≥ 0>` of format=dpo; undefined when neither is given. */
function parsePairChoice(query: Query, format: string): PairChoice | undefined {
  const pairs = single(query, 'pairs');
  const margin = single(query, 'minMargin');
  if (pairs === undefined && margin === undefined) return undefined;
  if (format !== 'dpo')
    throw new ValidationError(
      `${pairs !== undefined ? 'pairs' : 'minMargin'} chooses the preference pairs of format=dpo only; got format=${format}`,
    );
  if (pairs !== undefined && pairs !== 'best' && pairs !== 'all')
    throw new ValidationError(
      `pairs must be best (a prompt's best against its worst answer) or all (every pair whose scores differ by minMargin or more); got "${pairs}"`,
    );
  if (margin !== undefined && !/^\d{1,6}(?:\.\d{1,6})?$/.test(margin))
    throw new ValidationError(`minMargin must be a number >= 0 (the least score difference of a pair, e.g. 1 or 0.5); got "${margin}"`);
  return { pairs: pairs ?? DEFAULT_PAIR_CHOICE.pairs, minMargin: margin !== undefined ? Number(margin) : DEFAULT_PAIR_CHOICE.minMargin };
}

/**
 * Parses `format`, `assistant`, `status`, `stopReason`, `filter`, `score`, `pairs` and `minMargin` (dpo), `metadata`, `weights`,
 * `sharegptSystem`, `license` and `language` of an export request.
 * Throws a {@link ValidationError} (400) that names the parameter and the values it accepts.
 */
export function parseExportQuery(query: Query, defaults: { escapeFormulas: boolean; format?: ExportFormat }): ExportOptions {
  const format = single(query, 'format') ?? defaults.format;
  if (format === undefined) throw new ValidationError(`format is required: one of ${EXPORT_FORMATS.join(', ')}`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new ValidationError(`format must be one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`);
  }
  const assistant = single(query, 'assistant') ?? 'cloud';
  if (assistant !== 'cloud' && assistant !== 'local') throw new ValidationError(`assistant must be cloud or local, got "${assistant}"`);
  const statuses = list(query, 'status');
  const badStatus = statuses?.find((s) => !(EXPORT_STATUSES as readonly string[]).includes(s));
  if (badStatus !== undefined)
    throw new ValidationError(`status must be a comma-separated list of ${EXPORT_STATUSES.join(', ')}; got "${badStatus}"`);
  // Stop reasons are an open set (steps and budgets add their own): only their shape is checked.
  const stopReasons = list(query, 'stopReason');
  const badReason = stopReasons?.find((s) => !/^[a-z][a-z_]{0,63}$/.test(s));
  if (badReason !== undefined)
    throw new ValidationError(`stopReason must be a comma-separated list of reasons like max_turns,stop_phrase; got "${badReason}"`);
  const allFilters = list(query, 'filter');
  const dedup = allFilters?.includes('dedup') === true;
  const filterTexts = allFilters?.filter((t) => t !== 'dedup');
  const scoreFilters = (filterTexts?.length ? filterTexts : undefined)?.map((t) => {
    const f = parseScoreFilter(t);
    if (!f)
      throw new ValidationError(
        `filter must be score.<criterion><op><number> with op one of >= <= > < =, e.g. score.helpfulness>=4, or dedup; got "${t}"`,
      );
    return f;
  });
  const rankBy = single(query, 'score');
  if (rankBy !== undefined && format !== 'dpo')
    throw new ValidationError(`score ranks the branches of format=dpo only; got format=${format}`);
  if (rankBy !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(rankBy))
    throw new ValidationError(
      `score must name one criterion of the judge's rubric (letters, digits, _ and -), e.g. score=helpfulness; got "${rankBy}"`,
    );
  const pairChoice = parsePairChoice(query, format);
  const metadata = boolParam(query, 'metadata');
  if (metadata !== undefined && format !== 'openai' && format !== 'sharegpt')
    throw new ValidationError(`metadata applies to format=openai and sharegpt (${format} always carries its provenance)`);
  const weightsText = single(query, 'weights');
  if (weightsText !== undefined && format !== 'openai')
    throw new ValidationError(`weights applies to format=openai only (OpenAI's "weight" on assistant messages), got format=${format}`);
  const sharegptSystem = single(query, 'sharegptSystem') ?? 'turn';
  if (sharegptSystem !== 'turn' && sharegptSystem !== 'field')
    throw new ValidationError(
      `sharegptSystem must be turn (a {"from":"system"} first turn) or field (a top-level "system"), got "${sharegptSystem}"`,
    );
  const license = single(query, 'license') ?? 'other';
  if (!/^[a-z0-9][a-z0-9.+-]{0,63}$/.test(license))
    throw new ValidationError(`license must be a Hugging Face license id such as apache-2.0, cc-by-4.0, mit or other; got "${license}"`);
  const language = list(query, 'language') ?? [];
  const badLanguage = language.find((l) => !/^[a-z]{2,3}$/.test(l));
  if (badLanguage !== undefined)
    throw new ValidationError(`language must be a comma-separated list of ISO 639 codes such as en,fr; got "${badLanguage}"`);
  return {
    format: format as ExportFormat,
    ...(scoreFilters ? { scoreFilters } : {}),
    ...(rankBy !== undefined ? { rankBy } : {}),
    ...(pairChoice ? { pairChoice } : {}),
    ...(dedup ? { dedup: true } : {}),
    assistant,
    statuses: new Set(statuses ?? TERMINAL_STATUSES),
    stopReasons: stopReasons && new Set(stopReasons),
    escapeFormulas: defaults.escapeFormulas,
    metadata: metadata ?? format === 'sharegpt',
    weights: parseWeights(weightsText),
    sharegptSystem,
    license,
    language,
  };
}
