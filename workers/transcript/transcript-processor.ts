/**
 * The last step: render the transcript from Redis, write it atomically into OUTPUT_DIR, and
 * complete the conversation (a failed, cancelled or timed-out one keeps its state and still gets
 * its partial transcript).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { isTerminal } from '../../shared/conversation-store';
import { resolveInOutputDir } from '../../shared/output-file';
import type { TranscriptJobData } from '../../shared/queues';
import { renderTranscriptCsv } from '../../shared/transcript-csv';
import { jobLogFields, type PipelineDeps } from '../step-runner';

export function createTranscriptProcessor(deps: PipelineDeps) {
  const { store, config, logger } = deps;

  return async function processTranscript(job: Job<TranscriptJobData>): Promise<string> {
    const id = job.data.conversationId;
    const record = await store.get(id);
    if (!record) return 'skipped';
    const turns = await store.getTurns(id);
    if (!isTerminal(record.status)) record.stopReason = record.pendingStop ?? 'max_turns';
    const csv = renderTranscriptCsv(record, turns, { escapeFormulas: config.csvEscapeFormulas });
    const file = await writeAtomically(config.outputDir, record.settings.outputFile, id, csv);
    await store.setTranscriptPath(id, file);
    if (!isTerminal(record.status)) {
      if (await store.finish(id, 'completed', record.stopReason!)) deps.hooks?.onTerminal?.('completed', record.stopReason!);
    }
    logger.info({ ...jobLogFields(job), file, rows: turns.filter((t) => t.cloud).length }, 'transcript written');
    return file;
  };
}

/**
 * Writes to a temp file and renames it into place. When the name is taken by another
 * conversation's transcript, the conversation id is added to the name instead of overwriting it.
 */
async function writeAtomically(outputDir: string, name: string, id: string, csv: string): Promise<string> {
  await fs.mkdir(outputDir, { recursive: true });
  let target = resolveInOutputDir(outputDir, name);
  try {
    const head = (await fs.readFile(target, 'utf8')).split('\r\n', 2)[1] ?? '';
    if (head && !head.includes(id)) target = resolveInOutputDir(outputDir, name.replace(/\.csv$/i, `-${id}.csv`));
  } catch {
    /* no such file: the name is free */
  }
  const tmp = path.join(outputDir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  await fs.writeFile(tmp, csv, 'utf8');
  await fs.rename(tmp, target);
  return target;
}
