/**
 * The last step: render the transcript from Redis, write it atomically into OUTPUT_DIR, and
 * complete the conversation (a failed, cancelled or timed-out one keeps its state and still gets
 * its partial transcript).
 */
import type { Job, Processor } from 'bullmq';
import { isTerminal } from '../conversation/model';
import { writeTranscriptFile } from '../transcript/transcript-file';
import type { TranscriptJobData, TranscriptResult } from '../queue/job-types';
import { renderTranscriptCsv } from '../transcript/transcript-csv';
import { loadPriceTable } from '../cost/price-table';
import { stepCostUsd } from '../cost/conversation-cost';
import { jobLogFields, type PipelineDeps } from './step-lifecycle';
import { RunAdmission } from '../runs/run-admission';

/** The transcript queue's processor. */
export function createTranscriptProcessor(deps: PipelineDeps): Processor<TranscriptJobData, TranscriptResult, 'transcript'> {
  const { store, config, logger } = deps;
  const admission = new RunAdmission(deps);
  const prices = deps.prices ?? loadPriceTable(config.pricesFile, config.modelCatalogFile);

  return async function processTranscript(job: Job<TranscriptJobData, TranscriptResult, 'transcript'>): Promise<TranscriptResult> {
    const id = job.data.conversationId;
    const loaded = await store.getConversation(id);
    if (!loaded) return 'skipped';
    const { record, turns } = loaded;
    if (!isTerminal(record.status)) record.stopReason = record.pendingStop ?? 'max_turns';
    const csv = renderTranscriptCsv(record, turns, {
      escapeFormulas: config.csvEscapeFormulas,
      costOf: (side, step) => stepCostUsd(side, step, prices),
    });
    const file = await writeTranscriptFile(config.outputDir, record.settings.outputFile, id, csv);
    await store.setTranscriptPath(record, file);
    if (!isTerminal(record.status)) {
      if (await store.finish(id, 'completed', record.stopReason!, undefined, record))
        deps.hooks?.onTerminal?.('completed', record.stopReason!);
    }
    logger.info({ ...jobLogFields(job), file, rows: turns.filter((t) => t.cloud).length }, 'transcript written');
    // The conversation's run slot was freed with its terminal transition: admit the next seeds.
    if (record.settings.run) await admission.fill(record.settings.run.id);
    // A finished conversation with at least one answer is judged when a rubric is configured.
    if (config.judgeRubricFile && turns.some((t) => t.cloud)) await deps.queues.enqueueJudge(id);
    return file;
  };
}
