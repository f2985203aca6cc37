/**
 * The local step of turn k: turn the cloud answer into a follow-up with the local model, record it
 * once, then queue the cloud step of turn k+1 — or the transcript at maxTurns or a stop phrase.
 */
import type { Job } from 'bullmq';
import type { LocalStep } from '../conversation/model';
import type { TurnJobData } from '../queue/job-types';
import { jobLogFields, StepRunner, type PipelineDeps } from './step-lifecycle';
import { followUpPrompt, historyFor, hitsStopPhrase } from '../conversation/turn-rules';

export function createLocalProcessor(deps: PipelineDeps) {
  const runner = new StepRunner(deps);
  const { store, queues, logger } = deps;

  return async function processLocal(job: Job<TurnJobData>, _token?: string, signal?: AbortSignal): Promise<string> {
    const { conversationId: id, turn } = job.data;
    const log = logger.child(jobLogFields(job));
    // The record and only the turns this step needs: its own, the previous one and the history window.
    const loaded = await runner.begin(job, id, turn);
    if (!loaded) return 'skipped';
    const { record, turns } = loaded;
    const s = record.settings;
    const current = turns.find((t) => t.turn === turn);
    let step = current?.local ?? null;
    let recordedNow = false;
    if (!step) {
      const cloudStep = current?.cloud;
      if (!cloudStep) throw new Error(`cloud step of turn ${turn} missing for conversation ${id}`);
      const prompt = followUpPrompt(s, cloudStep.question, cloudStep.answer);
      const reply = await runner.ask(job, record, 'local', signal, {
        prompt, model: s.localModel, system: s.systemPrompts.local, history: historyFor('local', turns, turn, s.contextTurns),
      });
      if (!reply) return 'ended';
      const fresh: LocalStep = {
        prompt, followUp: reply.text, model: reply.model, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens,
        latencyMs: reply.latencyMs, stopReason: reply.stopReason, at: Date.now(),
      };
      recordedNow = await store.recordStep(record, 'local', turn, fresh);
      step = recordedNow ? fresh : (await store.getStep(record, 'local', turn))!;
      log.info({ model: reply.model, latencyMs: reply.latencyMs, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens }, 'follow-up recorded');
      log.debug({ prompt, followUp: reply.text }, 'local exchange');
    }
    if (turn >= s.maxTurns) {
      await runner.stop(id, 'max_turns');
      return 'max_turns';
    }
    if (hitsStopPhrase(step.followUp, s.stopPhrase)) {
      await runner.stop(id, 'stop_phrase');
      return 'stop_phrase';
    }
    // The next question needs this follow-up, so turn k+1 cannot exist yet when it was just
    // recorded; only a re-run checks (re-adding a removed job's id would run it again).
    if (recordedNow || !(await store.hasStep(record, 'cloud', turn + 1))) await queues.enqueueCloud(id, turn + 1);
    return 'ok';
  };
}
