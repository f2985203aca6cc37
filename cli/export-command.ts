/**
 * `llmconv export <run>`: streams a run's dataset (`GET /runs/:id/export`) to a file or stdout,
 * with a line counting conversations (JSONL) or rows (CSV) as they arrive — redrawn in place on a
 * terminal, printed once at the end otherwise. Parquet and `hf` (a zip) are binary: they need
 * `--out`; `hf` into a directory is downloaded beside it and unpacked (cli/zip-extract.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { extractStoredZip } from './zip-extract';
import type { ApiClient } from './api-client';
import type { FollowOutput } from './follow';

export interface ExportCommandOptions {
  format: string;
  assistant?: string;
  status?: string;
  stopReason?: string;
  /** `score.<criterion><op><number>` conditions on the judge's scores, all of which must hold. */
  filter?: string[];
  /** File to write; stdout when absent. For `hf`, a directory (or a `.zip` file). */
  out?: string;
  /** JSONL: add the provenance (`metadata=true`). */
  metadata?: boolean;
  /** openai: `weight` on assistant messages (none, all, last, or turn numbers). */
  weights?: string;
  /** hf: the card's license and language(s). */
  license?: string;
  language?: string;
  /** dpo: the criterion branches are ranked by, `best`/`all` pairs, the least score margin. */
  score?: string;
  pairs?: string;
  minMargin?: string;
}

/** Formats whose bytes are not text (written as they come, never to a terminal). */
const BINARY = new Set(['parquet', 'hf']);

export interface ExportIo {
  stdout: FollowOutput & { once?(event: 'drain', cb: () => void): unknown };
  stderr: FollowOutput;
  tty: boolean;
}

/** Counts records in a JSONL or CSV stream: newlines outside CSV quotes. */
class RecordCounter {
  records = 0;
  bytes = 0;
  private quoted = false;
  constructor(private readonly csv: boolean) {}
  add(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (const b of chunk) {
      if (this.csv && b === 0x22) this.quoted = !this.quoted;
      else if (b === 0x0a && !this.quoted) this.records++;
    }
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The run export's path and query. */
export function exportPath(id: string, o: ExportCommandOptions): string {
  const q = new URLSearchParams({ format: o.format });
  if (o.assistant) q.set('assistant', o.assistant);
  if (o.status) q.set('status', o.status);
  if (o.stopReason) q.set('stopReason', o.stopReason);
  for (const f of o.filter ?? []) q.append('filter', f);
  if (o.metadata) q.set('metadata', 'true');
  if (o.weights) q.set('weights', o.weights);
  if (o.license) q.set('license', o.license);
  if (o.language) q.set('language', o.language);
  if (o.score) q.set('score', o.score);
  if (o.pairs) q.set('pairs', o.pairs);
  if (o.minMargin !== undefined) q.set('minMargin', o.minMargin);
  return `/runs/${encodeURIComponent(id)}/export?${q}`;
}

/** Runs the export; resolves to the number of conversations (JSONL) or rows (CSV) written. */
export async function exportCommand(api: ApiClient, id: string, o: ExportCommandOptions, io: ExportIo): Promise<number> {
  const binary = BINARY.has(o.format);
  if (binary && !o.out)
    throw new Error(
      `--format ${o.format} is binary: give --out (${o.format === 'hf' ? 'a directory, or a .zip file' : 'a .parquet file'})`,
    );
  // hf into a directory: the zip is downloaded beside it, then unpacked.
  const intoDir = o.format === 'hf' && o.out !== undefined && !o.out.endsWith('.zip') ? o.out : undefined;
  if (intoDir) {
    const existing = fs.existsSync(intoDir) ? fs.readdirSync(intoDir) : [];
    if (existing.length) throw new Error(`${intoDir} is not empty: give a new or empty directory for --format hf`);
  }
  const { body, missing, total } = await api.exportDownload(exportPath(id, o));
  if (missing > 0) {
    io.stderr.write(
      `warning: ${missing} of ${total} conversations of run ${id} have expired and are not in this export (which: GET /runs/${id}/conversations, status "expired")\n`,
    );
  }
  const csv = o.format === 'csv';
  const counter = new RecordCounter(csv);
  const unit = csv ? 'rows' : 'conversations';
  const count = () => (binary ? 0 : Math.max(0, counter.records - (csv ? 1 : 0)));
  const what = () => (binary ? mb(counter.bytes) : `${count()} ${unit}, ${mb(counter.bytes)}`);
  // Opened after the request succeeded: a refused export leaves no empty file behind.
  if (intoDir) fs.mkdirSync(intoDir, { recursive: true });
  const target = intoDir ? path.join(intoDir, '.llmconv-export.zip.partial') : o.out;
  const file = target ? fs.createWriteStream(target) : undefined;
  let writeError: Error | undefined;
  if (file) {
    await once(file, 'open');
    file.on('error', (err) => {
      writeError = err;
    });
  }
  const decoder = new TextDecoder();
  let lastDraw = 0;
  const draw = (final: boolean) => {
    if (io.tty) io.stderr.write(`\r\x1b[Kexporting ${id}: ${what()}${final ? '\n' : ''}`);
  };
  try {
    for await (const chunk of body) {
      if (writeError) throw writeError;
      if (binary) counter.bytes += chunk.length;
      else counter.add(chunk);
      if (file) {
        if (!file.write(chunk)) await once(file, 'drain');
      } else if (io.stdout.write(decoder.decode(chunk, { stream: true })) === false && io.stdout.once) {
        await once(io.stdout as unknown as NodeJS.EventEmitter, 'drain');
      }
      if (Date.now() - lastDraw > 200) {
        lastDraw = Date.now();
        draw(false);
      }
    }
  } finally {
    if (file) {
      file.end();
      if (!writeError) await once(file, 'close');
    }
  }
  if (writeError) throw new Error(`cannot write ${target}: ${writeError.message}`);
  draw(true);
  if (intoDir && target) {
    const names = await extractStoredZip(target, intoDir);
    fs.rmSync(target);
    io.stderr.write(`wrote ${intoDir} (${names.join(', ')}; ${mb(counter.bytes)})\n`);
  } else if (o.out) io.stderr.write(`wrote ${o.out} (${what()})\n`);
  return count();
}
