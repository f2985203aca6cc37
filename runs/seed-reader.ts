/**
 * Reads a `POST /runs` upload as seeds, line by line, without holding the upload in memory:
 * NDJSON (one JSON object a line), plain text (one question a line) or CSV (a header with an
 * `initialQuery` column; records by runs/csv-records.ts). LF and CRLF line ends, mixed. Each item
 * carries its 1-based line number (a CSV record's: the line it starts on); a line that cannot be a
 * seed is yielded as `{ line, error }` and the reading goes on.
 */
import type { Readable } from 'node:stream';
import { RequestBodyError, ValidationError } from '../shared/errors';
import { readCsvRecords } from './csv-records';

export type SeedFormat = 'ndjson' | 'text' | 'csv';

/** One raw seed: the request fields of its line, the seed's own id and meta. */
export interface RawSeed {
  line: number;
  fields?: Record<string, unknown>;
  seedId?: string;
  meta?: Record<string, unknown>;
  error?: string;
}

export interface ReadLimits {
  maxLineBytes: number;
  maxTotalBytes: number;
}

/** The upload format for a Content-Type, or undefined for one we do not read. */
export function seedFormatOf(contentType: string): SeedFormat | undefined {
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  if (t === 'application/x-ndjson' || t === 'application/jsonl' || t === 'application/x-jsonlines' || t === 'application/json')
    return 'ndjson';
  if (t === 'text/plain') return 'text';
  if (t === 'text/csv') return 'csv';
  return undefined;
}

function tooLarge(limit: number) {
  return new RequestBodyError(
    `run upload exceeds the limit of ${limit} bytes (RUN_MAX_BODY_BYTES); the seeds before it were kept: send the rest with POST /runs/:id/seeds`,
    413,
  );
}

/** Lines of a byte stream with their numbers; a line over the limit is yielded as `tooLong` and skipped. */
export async function* readLines(body: Readable, limits: ReadLimits): AsyncGenerator<{ line: number; text?: string; tooLong?: boolean }> {
  let total = 0;
  let line = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limits.maxTotalBytes) throw tooLarge(limits.maxTotalBytes);
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!skipping) {
        partBytes += end - from;
        if (partBytes > limits.maxLineBytes) {
          skipping = true;
          parts = [];
        } else parts.push(chunk.subarray(from, end));
      }
      if (nl < 0) break;
      line++;
      if (skipping) yield { line, tooLong: true };
      else yield { line, text: Buffer.concat(parts).toString('utf8').replace(/\r$/, '') };
      parts = [];
      partBytes = 0;
      skipping = false;
      from = nl + 1;
    }
  }
  if (skipping) yield { line: line + 1, tooLong: true };
  else if (partBytes > 0) yield { line: line + 1, text: Buffer.concat(parts).toString('utf8').replace(/\r$/, '') };
}

/**
 * How deep a seed line's JSON may nest, and how large its `meta` may be once serialised. Redis's
 * cjson (the run scripts decode each seed) gives up at 1,000 levels and failed the whole batch, so
 * a deeper line is rejected alone, like any bad line. 16 levels is far more than a seed's settings
 * (3) or any provenance needs.
 */
export const MAX_SEED_DEPTH = 16;
export const MAX_META_BYTES = 16 * 1024;

/** True when `v` nests deeper than `max` levels of objects/arrays (iterative: no stack to overflow). */
export function nestsDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d >= max) return true;
    for (const child of Object.values(x as Record<string, unknown>))
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function splitSeed(line: number, obj: Record<string, unknown>): RawSeed {
  const { id, meta, ...fields } = obj;
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') return { line, error: 'id: must be a string or a number' };
  if (meta !== undefined && !isObject(meta)) return { line, error: 'meta: must be a JSON object' };
  if (meta !== undefined && Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES)
    return { line, error: `meta: larger than ${MAX_META_BYTES} bytes as JSON` };
  return { line, fields, ...(id !== undefined ? { seedId: String(id) } : {}), ...(meta !== undefined ? { meta } : {}) };
}

/** CSV columns read as numbers or booleans; other columns besides `initialQuery` and `id` go to `meta`. */
const CSV_NUMBERS = new Set(['maxTurns', 'timeoutMinutes', 'temperature', 'maxTokens', 'contextTurns']);
const CSV_STRINGS = new Set(['initialQuery', 'outputFile', 'cloudModel', 'localModel', 'stopPhrase']);

function csvSeed(line: number, row: Record<string, string>): RawSeed {
  const fields: Record<string, unknown> = {};
  const meta: Record<string, unknown> = {};
  let seedId: string | undefined;
  for (const [k, v] of Object.entries(row)) {
    if (v === '' || v === undefined) continue;
    if (k === 'id') seedId = v;
    else if (CSV_STRINGS.has(k)) fields[k] = v;
    else if (CSV_NUMBERS.has(k)) {
      const n = Number(v);
      if (!Number.isFinite(n)) return { line, error: `${k}: "${v.slice(0, 40)}" is not a number` };
      fields[k] = n;
    } else if (k === 'think' || k === 'cache') fields[k] = ['true', '1', 'yes'].includes(v.toLowerCase());
    else meta[k] = v;
  }
  return { line, fields, ...(seedId !== undefined ? { seedId } : {}), ...(Object.keys(meta).length ? { meta } : {}) };
}

/** A CSV header's column names, checked: an `initialQuery` column, every column named once. */
function checkedHeader(names: string[]): string[] {
  const found = names.join(', ').slice(0, 200);
  if (!names.includes('initialQuery')) throw new ValidationError(`CSV upload needs an "initialQuery" column (found: ${found})`);
  const blank = names.findIndex((n) => n.trim() === '');
  if (blank >= 0) throw new ValidationError(`CSV upload: column ${blank + 1} of the header has no name (found: ${found})`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new ValidationError(`CSV upload: the header names column "${twice.slice(0, 80)}" twice`);
  return names;
}

/** The seeds of an upload in `format`, in order. Blank lines are skipped, not rejected. */
export async function* readSeeds(body: Readable, format: SeedFormat, limits: ReadLimits): AsyncGenerator<RawSeed> {
  if (format === 'csv') {
    let header: string[] | undefined;
    for await (const r of readCsvRecords(readLines(body, limits), limits.maxLineBytes)) {
      if (header === undefined) {
        if ('error' in r) throw new ValidationError(`CSV upload: its header (line ${r.line}) cannot be read: ${r.error}`);
        header = checkedHeader(r.fields);
        continue;
      }
      if ('error' in r) yield { line: r.line, error: r.error };
      else yield csvSeed(r.line, Object.fromEntries(header.map((h, i) => [h, r.fields[i]!])));
    }
    return;
  }
  for await (const l of readLines(body, limits)) {
    if (l.tooLong) {
      yield { line: l.line, error: `line longer than ${limits.maxLineBytes} bytes (RUN_MAX_LINE_BYTES)` };
      continue;
    }
    const text = l.text!;
    if (text.trim() === '') continue;
    if (format === 'text') {
      yield { line: l.line, fields: { initialQuery: text.trim() } };
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (err) {
      yield { line: l.line, error: `not valid JSON: ${(err as Error).message.slice(0, 160)}` };
      continue;
    }
    if (!isObject(v)) yield { line: l.line, error: 'not a JSON object (expected {"initialQuery": …})' };
    else if (nestsDeeperThan(v, MAX_SEED_DEPTH)) yield { line: l.line, error: `nested deeper than ${MAX_SEED_DEPTH} levels` };
    else yield splitSeed(l.line, v);
  }
}
