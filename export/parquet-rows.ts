/**
 * One conversation as one Parquet row, with no I/O: the `messages` column is the conversation in
 * the chat form the Hugging Face / TRL ecosystem loads directly (a list of `{role, content}`
 * structs, system first when there is one: `load_dataset("parquet", …)` gives each row a
 * `messages` list of dicts, what TRL's SFTTrainer takes as a conversational dataset), and the
 * provenance is spread over typed columns beside it (ids, models, status, stop reason, tokens,
 * cost, judge scores), with the full provenance as JSON text in `provenance` (`meta` and
 * `judge_scores` are JSON text too: their keys are the seed's and the rubric's).
 *
 * One row per conversation, not per message: a row is one training example, as in the JSONL
 * formats, and a reader never has to regroup messages.
 */
import type { SchemaElement } from 'hyparquet-writer';
import type { Side } from '../conversation/model';
import { dialogueOf, provenanceOf, type ExportItem, type Provenance } from './conversation-lines';

/** A row of the Parquet export (keys are the column names). */
export interface ParquetRow {
  conversation_id: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  run_id: string | null;
  seed_hash: string | null;
  assistant: Side;
  status: string;
  stop_reason: string | null;
  cloud_model: string;
  local_model: string;
  exchanges: number;
  turns: number;
  cloud_input_tokens: number;
  cloud_output_tokens: number;
  local_input_tokens: number;
  local_output_tokens: number;
  cost_usd: number | null;
  /** JSON text. */
  judge_scores: string | null;
  /** JSON text. */
  meta: string | null;
  created_at: Date;
  finished_at: Date | null;
  /** JSON text of the provenance. */
  provenance: string;
}

const str = (name: string, optional = false): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: optional ? 'OPTIONAL' : 'REQUIRED',
});
const int = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'REQUIRED' });
/** JSON as text: a UTF8 string column (JSON.stringify is native; the writer's JSON type would encode it again, in JS). */
const json = (name: string, optional = false): SchemaElement => str(name, optional);
const millis = (name: string, optional = false): SchemaElement => ({
  name,
  type: 'INT64',
  converted_type: 'TIMESTAMP_MILLIS',
  repetition_type: optional ? 'OPTIONAL' : 'REQUIRED',
});

/** The columns after `messages`, in order (each a top-level leaf). */
const FLAT_COLUMNS: SchemaElement[] = [
  str('run_id', true),
  str('seed_hash', true),
  str('assistant'),
  str('status'),
  str('stop_reason', true),
  str('cloud_model'),
  str('local_model'),
  int('exchanges'),
  int('turns'),
  int('cloud_input_tokens'),
  int('cloud_output_tokens'),
  int('local_input_tokens'),
  int('local_output_tokens'),
  { name: 'cost_usd', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  json('judge_scores', true),
  json('meta', true),
  millis('created_at'),
  millis('finished_at', true),
  json('provenance'),
];

/** The column names, in schema order. */
export const PARQUET_COLUMNS: (keyof ParquetRow)[] = [
  'conversation_id',
  'messages',
  ...(FLAT_COLUMNS.map((c) => c.name) as (keyof ParquetRow)[]),
];

/**
 * The file's schema: `messages` as the standard three-level LIST of a required struct
 * (`list<struct<role: string, content: string>>` to Arrow and to `datasets`).
 */
export const PARQUET_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: PARQUET_COLUMNS.length },
  str('conversation_id'),
  { name: 'messages', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
  str('role'),
  str('content'),
  ...FLAT_COLUMNS,
];

/** The row of a conversation with `assistant` as the assistant (and its provenance), or undefined when it has no usable exchange. */
export function parquetRow(conv: ExportItem, assistant: Side): { row: ParquetRow; provenance: Provenance } | undefined {
  const { system, pairs } = dialogueOf(conv, assistant);
  if (pairs.length === 0) return undefined;
  const messages: ParquetRow['messages'] = [];
  if (system !== undefined) messages.push({ role: 'system', content: system });
  for (const p of pairs) messages.push({ role: 'user', content: p.user }, { role: 'assistant', content: p.assistant });
  const p: Provenance = { ...provenanceOf(conv), assistant, exchanges: pairs.length };
  const { record } = conv;
  const row: ParquetRow = {
    conversation_id: p.conversationId,
    messages,
    run_id: p.runId,
    seed_hash: p.seedHash,
    assistant,
    status: p.status,
    stop_reason: p.stopReason,
    cloud_model: p.cloudModel,
    local_model: p.localModel,
    exchanges: pairs.length,
    turns: p.turns,
    cloud_input_tokens: p.tokens.cloudInput,
    cloud_output_tokens: p.tokens.cloudOutput,
    local_input_tokens: p.tokens.localInput,
    local_output_tokens: p.tokens.localOutput,
    cost_usd: p.costUsd?.total ?? null,
    judge_scores: p.judge?.scores ? JSON.stringify(p.judge.scores) : null,
    meta: p.meta ? JSON.stringify(p.meta) : null,
    created_at: new Date(record.createdAt),
    finished_at: record.finishedAt === undefined ? null : new Date(record.finishedAt),
    provenance: JSON.stringify(p),
  };
  return { row, provenance: p };
}

/** A row's text in characters, to cap a row group's memory. */
export function rowWeight(row: ParquetRow): number {
  let n = row.provenance.length + (row.meta?.length ?? 0);
  for (const m of row.messages) n += m.content.length;
  return n;
}

/** Columns of long, distinct text: written PLAIN (no dictionary tried) and without min/max statistics. */
export const LONG_TEXT_COLUMNS: ReadonlySet<string> = new Set(['messages', 'provenance', 'meta', 'conversation_id', 'seed_hash']);
