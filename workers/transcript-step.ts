/**
 * The transcript step: render the transcript from Redis and write it atomically into OUTPUT_DIR
 * (a failed, cancelled or timed-out conversation gets its partial one). What follows the
 * transcript (completing a normal stop, refilling the run's slots, queueing the judge) is the
 * ending's (ending/end-conversation.ts).
 */
import type { Job, Processor } from 'bullmq';
import { completionReason } from '../conversation/conversation-end';
import { isTerminal } from '../conversation/model';
import { writeTranscriptFile } from '../transcript/transcript-file';
import type { TranscriptJobData, TranscriptResult } from '../queue/job-types';
import { renderTranscriptCsv } from '../transcript/transcript-csv';
import { loadPriceTable } from '../cost/price-table';
import { stepCostUsd } from '../cost/conversation-cost';
import { jobLogFields, type PipelineDeps } from './step-lifecycle';
import { RunAdmission } from '../runs/run-admission';
import { ConversationEnding } from '../ending/end-conversation';
import { flagNearDuplicate } from '../runs/conversation-dedup';
import { RunStore } from '../store/run-store';

/** The transcript queue's processor. */
export function createTranscriptProcessor(deps: PipelineDeps): Processor<TranscriptJobData, TranscriptResult, 'transcript'> {
  const { store, config, logger } = deps;
  const ending = new ConversationEnding({ ...deps, runSlots: new RunAdmission(deps) });
  const prices = deps.prices ?? loadPriceTable(config.pricesFile, config.modelCatalogFile);
  const dedup = {
    store,
    runs: new RunStore(store.redis, store.shards),
    threshold: config.dedupThreshold,
    ttlSeconds: config.retentionSeconds,
  };

  return async function processTranscript(job: Job<TranscriptJobData, TranscriptResult, 'transcript'>): Promise<TranscriptResult> {
    const id = job.data.conversationId;
    const loaded = await store.getConversation(id);
    if (!loaded) return 'skipped';
    const { record, turns } = loaded;
    // A conversation still running is rendered with the stop it completes with.
    const csv = renderTranscriptCsv(isTerminal(record.status) ? record : { ...record, stopReason: completionReason(record) }, turns, {
      escapeFormulas: config.csvEscapeFormulas,
      costOf: (side, step) => stepCostUsd(side, step, prices),
    });
    const file = await writeTranscriptFile(config.outputDir, record.settings.outputFile, id, csv);
    await store.setTranscriptPath(record, file);
    logger.info({ ...jobLogFields(job), file, rows: turns.filter((t) => t.cloud).length }, 'transcript written');
    // A run's conversation is compared with the run's earlier ones before its end completes (filter=dedup).
    const dup = await flagNearDuplicate(dedup, record, turns);
    if (dup)
      logger.info({ ...jobLogFields(job), of: dup.id, similarity: dup.similarity }, 'near-duplicate of an earlier conversation of the run');
    await ending.transcriptWritten(record, turns, jobLogFields(job));
    return file;
  };
}
