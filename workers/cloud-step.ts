/**
 * The cloud step of turn k: ask the cloud model the turn's question (with up to `contextTurns`
 * earlier exchanges), record the answer once, then queue the local step (or the transcript when
 * the answer holds the stop phrase).
 */
import type { Job } from 'bullmq';
import type { CloudStep } from '../conversation/model';
import type { TurnJobData } from '../queue/job-types';
import { jobLogFields, StepRunner, type PipelineDeps } from './step-lifecycle';
import { historyFor, hitsStopPhrase, questionFor } from '../conversation/turn-rules';

export function createCloudProcessor(deps: PipelineDeps) {
  const runner = new StepRunner(deps);
  const { store, queues, logger } = deps;

  return async function processCloud(job: Job<TurnJobData>, _token?: string, signal?: AbortSignal): Promise<string> {
    const { conversationId: id, turn } = job.data;
    const log = logger.child(jobLogFields(job));
    // The record and only the turns this step needs: its own, the previous one and the history window.
    const loaded = await runner.begin(job, id, turn);
    if (!loaded) return 'skipped';
    const { record, turns } = loaded;
    const s = record.settings;
    let step = turns.find((t) => t.turn === turn)?.cloud ?? null;
    let recordedNow = false;
    if (!step) {
      const question = questionFor(s, turns, turn);
      const startedAt = Date.now();
      const reply = await runner.ask(job, record, 'cloud', signal, {
        prompt: question, model: s.cloudModel, system: s.systemPrompts.cloud, history: historyFor('cloud', turns, turn, s.contextTurns),
      });
      if (!reply) return 'ended';
      const fresh: CloudStep = {
        question, answer: reply.text, model: reply.model, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens,
        latencyMs: reply.latencyMs, stopReason: reply.stopReason, startedAt, at: Date.now(),
      };
      recordedNow = await store.recordStep(record, 'cloud', turn, fresh);
      step = recordedNow ? fresh : (await store.getStep(record, 'cloud', turn))!;
      log.info({ model: reply.model, latencyMs: reply.latencyMs, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens }, 'cloud reply recorded');
      log.debug({ question, answer: reply.text }, 'cloud exchange');
    }
    if (hitsStopPhrase(step.answer, s.stopPhrase)) {
      await runner.stop(id, 'stop_phrase');
      return 'stop_phrase';
    }
    // The local step needs this answer, so it cannot exist yet when the answer was just recorded;
    // only a re-run checks (a finished job is removed, and re-adding its id would run it again).
    if (recordedNow || !(await store.hasStep(record, 'local', turn))) await queues.enqueueLocal(id, turn);
    return 'ok';
  };
}
