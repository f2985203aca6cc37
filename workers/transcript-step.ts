/**
 * The last step: render the transcript from Redis, write it atomically into OUTPUT_DIR, and
 * complete the conversation (a failed, cancelled or timed-out one keeps its state and still gets
 * its partial transcript).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Job, Processor } from 'bullmq';
import { isTerminal } from '../conversation/model';
import { resolveInOutputDir } from '../transcript/output-file';
import type { TranscriptJobData, TranscriptResult } from '../queue/job-types';
import { renderTranscriptCsv } from '../transcript/transcript-csv';
import { jobLogFields, type PipelineDeps } from './step-lifecycle';

/** The transcript queue's processor. */
export function createTranscriptProcessor(deps: PipelineDeps): Processor<TranscriptJobData, TranscriptResult, 'transcript'> {
  const { store, config, logger } = deps;

  return async function processTranscript(job: Job<TranscriptJobData, TranscriptResult, 'transcript'>): Promise<TranscriptResult> {
    const id = job.data.conversationId;
    const loaded = await store.getConversation(id);
    if (!loaded) return 'skipped';
    const { record, turns } = loaded;
    if (!isTerminal(record.status)) record.stopReason = record.pendingStop ?? 'max_turns';
    const csv = renderTranscriptCsv(record, turns, { escapeFormulas: config.csvEscapeFormulas });
    const file = await writeAtomically(config.outputDir, record.settings.outputFile, id, csv);
    await store.setTranscriptPath(record, file);
    if (!isTerminal(record.status)) {
      if (await store.finish(id, 'completed', record.stopReason!)) deps.hooks?.onTerminal?.('completed', record.stopReason!);
    }
    logger.info({ ...jobLogFields(job), file, rows: turns.filter((t) => t.cloud).length }, 'transcript written');
    return file;
  };
}

/**
 * Writes to a temp file, then claims the name atomically with link(): of two conversations that
 * asked for the same name at the same moment exactly one gets it. When the name is taken by another
 * conversation's transcript, the conversation id is added to the name instead of overwriting it;
 * a re-run of the same conversation replaces its own file (rename).
 */
async function writeAtomically(outputDir: string, name: string, id: string, csv: string): Promise<string> {
  await fs.mkdir(outputDir, { recursive: true });
  const preferred = resolveInOutputDir(outputDir, name);
  const tmp = path.join(outputDir, `.${id}.${process.pid}.${Date.now()}.tmp`);
  await fs.writeFile(tmp, csv, 'utf8');
  try {
    await fs.link(tmp, preferred);
    await fs.unlink(tmp);
    return preferred;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST: taken. Other codes: a file system without hard links; decide by reading, as below.
    if (code !== 'EEXIST' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
  let head = '';
  try {
    head = (await fs.readFile(preferred, 'utf8')).split('\r\n', 2)[1] ?? '';
  } catch {
    /* no such file (link unsupported and the name is free) */
  }
  const target = head && !head.includes(id) ? resolveInOutputDir(outputDir, name.replace(/\.csv$/i, `-${id}.csv`)) : preferred;
  await fs.rename(tmp, target);
  return target;
}
