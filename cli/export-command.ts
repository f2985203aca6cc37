/**
 * `llmconv export <run>`: streams a run's dataset (`GET /runs/:id/export`) to a file or stdout,
 * with a line counting conversations (JSONL) or rows (CSV) as they arrive — redrawn in place on a
 * terminal, printed once at the end otherwise.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import type { ApiClient } from './api-client';
import type { FollowOutput } from './follow';

export interface ExportCommandOptions {
  format: string;
  assistant?: string;
  status?: string;
  stopReason?: string;
  /** `score.<criterion><op><number>` conditions on the judge's scores, all of which must hold. */
  filter?: string[];
  /** File to write; stdout when absent. */
  out?: string;
}

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
  return `/runs/${encodeURIComponent(id)}/export?${q}`;
}

/** Runs the export; resolves to the number of conversations (JSONL) or rows (CSV) written. */
export async function exportCommand(api: ApiClient, id: string, o: ExportCommandOptions, io: ExportIo): Promise<number> {
  const { body, missing, total } = await api.exportDownload(exportPath(id, o));
  if (missing > 0) {
    io.stderr.write(
      `warning: ${missing} of ${total} conversations of run ${id} have expired and are not in this export (which: GET /runs/${id}/conversations, status "expired")\n`,
    );
  }
  const csv = o.format === 'csv';
  const counter = new RecordCounter(csv);
  const unit = csv ? 'rows' : 'conversations';
  const count = () => Math.max(0, counter.records - (csv ? 1 : 0));
  // Opened after the request succeeded: a refused export leaves no empty file behind.
  const file = o.out ? fs.createWriteStream(o.out) : undefined;
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
    if (io.tty) io.stderr.write(`\r\x1b[Kexporting ${id}: ${count()} ${unit}, ${mb(counter.bytes)}${final ? '\n' : ''}`);
  };
  try {
    for await (const chunk of body) {
      if (writeError) throw writeError;
      counter.add(chunk);
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
  if (writeError) throw new Error(`cannot write ${o.out}: ${writeError.message}`);
  draw(true);
  if (o.out) io.stderr.write(`wrote ${o.out} (${count()} ${unit}, ${mb(counter.bytes)})\n`);
  return count();
}
