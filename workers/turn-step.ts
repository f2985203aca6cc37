/**
 * The skeleton both turn steps share, written once: load the record and the turns the step needs,
 * ask the side's model unless a previous run already recorded the step, record it once (HSETNX),
 * then do what {@link nextAfter} decides: queue the next step, or end the conversation
 * (ending/end-conversation.ts: a stop is completed once its transcript is written). A re-run after a crash finds the step recorded and only repeats the
 * decision, so every effect happens once.
 */
import type { Job, Processor } from 'bullmq';
import type { ConversationRecord, Side, StepOf, TurnRecord } from '../conversation/model';
import { emptyAnswerDetail, emptyFollowUpNote, nextAfter, qualityObservation } from '../conversation/turn-rules';
import { loadModelCatalog } from '../shared/model-catalog';
import type { TurnJobData, TurnStepResult } from '../queue/job-types';
import type { LlmCall, LlmReply } from '../providers/llm-provider';
import { jobLogFields, StepLifecycle, type PipelineDeps } from './step-lifecycle';

/** A turn step's processor, typed by its queue's job name. */
export type TurnProcessor<N extends Side> = Processor<TurnJobData, TurnStepResult, N>;

/** The side-specific part of a turn step. */
export interface TurnStepSpec<N extends Side, S extends StepOf<N> = StepOf<N>> {
  side: N;
  /** The call to make for `turn` (prompt, model, system prompt, history). */
  prepare(
    record: ConversationRecord,
    turns: TurnRecord[],
    turn: number,
  ): Pick<LlmCall, 'prompt' | 'model' | 'system' | 'history' | 'think'>;
  /** The step record from the call and its reply; `startedAt` is when the call began. */
  toStep(prompt: string, reply: LlmReply, startedAt: number): S;
  /** The recorded step of this side, if any. */
  recorded(turn: TurnRecord | undefined): S | undefined;
  /** The text the next decision reads (the answer or the follow-up). */
  textOf(step: S): string;
  /** The model's own stop reason the next decision reads (the cloud answer's: filtered, guardrail …). */
  stopReasonOf?(step: S): string | undefined;
  /**
   * What the step adds to its fresh record before it is recorded, in the same HSETNX (the local
   * step's goal verdict); null when the conversation ended meanwhile (a budget refusal). A re-run
   * that finds the step recorded reads what was added with it and asks nothing again.
   */
  annotate?(a: {
    job: Job<TurnJobData>;
    record: ConversationRecord;
    turn: number;
    step: S;
    lifecycle: StepLifecycle;
    signal?: AbortSignal;
  }): Promise<S | null>;
  /** Whether the recorded step says the goal is met (nextAfter's `goal_met`). */
  goalMetOf?(step: S): boolean;
  /** The info log line once recorded, and the debug line with the texts. */
  messages: { recorded: string; exchange: string; exchangeFields(prompt: string, reply: LlmReply): Record<string, string> };
}

/** Builds the BullMQ processor of one side's turn step. */
export function createTurnProcessor<N extends Side>(deps: PipelineDeps, spec: TurnStepSpec<N>): TurnProcessor<N> {
  const lifecycle = new StepLifecycle(deps);
  const { store, queues, logger } = deps;
  const { side } = spec;

  return async function processTurn(
    job: Job<TurnJobData, TurnStepResult, N>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<TurnStepResult> {
    const { conversationId: id, turn } = job.data;
    const log = logger.child(jobLogFields(job));
    // The record and only the turns this step needs: its own, the previous one and the history window.
    const loaded = await lifecycle.begin(job, id, turn);
    if (!loaded) return 'skipped';
    const { record, turns } = loaded;
    let step = spec.recorded(turns.find((t) => t.turn === turn)) ?? null;
    let recordedNow = false;
    if (!step) {
      const call = spec.prepare(record, turns, turn);
      // A template filled with long replies may outgrow what any turn should send (PROMPT_MAX_CHARS).
      const max = deps.config.promptMaxChars;
      if (call.prompt.length > max) {
        const error = `the ${side} prompt of turn ${turn} is ${call.prompt.length} characters, over the limit of ${max} (PROMPT_MAX_CHARS): use fewer placeholders in the template or a lower maxTokens`;
        log.warn({ promptChars: call.prompt.length, max }, `${side} prompt too long; conversation fails`);
        await lifecycle.ending.end(id, { cause: 'failed', reason: 'prompt_too_long', error }, { log: jobLogFields(job) });
        return 'ended';
      }
      const startedAt = Date.now();
      // The previous turn's cloud call, as recorded: its real input bounds this one's (budget-gate.ts).
      const previous = side === 'cloud' ? turns.find((t) => t.turn === turn - 1)?.cloud : undefined;
      const reply = await lifecycle.ask(job, record, side, signal, call, previous);
      if (!reply) return 'ended';
      let fresh = spec.toStep(call.prompt, reply, startedAt);
      if (spec.annotate) {
        const annotated = await spec.annotate({ job, record, turn, step: fresh, lifecycle, signal });
        if (!annotated) return 'ended';
        fresh = annotated;
      }
      recordedNow = await store.recordStep(record, side, turn, fresh);
      step = recordedNow ? fresh : await store.getStep(record, side, turn);
      if (!step) throw new Error(`${side} step of turn ${turn} of conversation ${id} was recorded by another run but cannot be read back`);
      log.info(
        { model: reply.model, latencyMs: reply.latencyMs, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens },
        spec.messages.recorded,
      );
      log.debug(spec.messages.exchangeFields(call.prompt, reply), spec.messages.exchange);
      if (reply.promptTruncated) {
        log.warn(
          { model: reply.model, inputTokens: reply.inputTokens, numCtx: deps.config.ollamaNumCtx },
          "the prompt did not fit the local model's context and Ollama cut it (the model's trained context, or OLLAMA_NUM_CTX, is too small: lower contextTurns, or raise OLLAMA_NUM_CTX)",
        );
      }
    }
    // Quality gates read every earlier reply and the token total: only then is the whole conversation read.
    const all = record.settings.quality ? ((await store.getConversation(id))?.turns ?? turns) : turns;
    const seen = qualityObservation(
      side,
      turn,
      'question' in step ? step.question : step.prompt,
      all,
      record.settings,
      step.truncated === true,
    );
    const next = nextAfter(side, turn, spec.textOf(step), record.settings, spec.stopReasonOf?.(step), seen, spec.goalMetOf?.(step));
    if (next.kind === 'stop') {
      // An answer with no text is never sent on: the record says why (the tokens spent reasoning, the cap to raise).
      const note =
        next.reason !== 'empty_answer'
          ? undefined
          : side === 'cloud' && 'answer' in step
            ? emptyAnswerDetail('cloud', step, maxTokensSent(deps, record, side, step.model))
            : 'followUp' in step
              ? emptyFollowUpNote(step, record.settings)
              : undefined;
      if (note) log.warn({ reason: next.reason, stopReason: step.stopReason, outputTokens: step.outputTokens }, note);
      else if (
        next.reason === 'repetition' ||
        next.reason === 'degenerate' ||
        next.reason === 'max_tokens_total' ||
        next.reason === 'truncated'
      ) {
        log.warn({ reason: next.reason }, `${side} reply tripped the ${next.reason} quality gate; conversation ends`);
      } else if (next.reason === 'goal_met') {
        log.info({ reason: next.reason }, 'the judge role found the goal met; conversation ends');
      } else if (next.reason !== 'max_turns' && next.reason !== 'stop_phrase') {
        log.warn({ stopReason: spec.stopReasonOf?.(step), reason: next.reason }, `${side} answer has no usable text; conversation ends`);
      }
      await lifecycle.ending.end(id, { cause: 'stopped', reason: next.reason, note });
      return next.reason;
    }
    // The next step needs this one's text, so it cannot exist yet when this was just recorded;
    // only a re-run checks (a finished job is removed, and re-adding its id would run it again).
    if (recordedNow || !(await store.hasStep(record, next.side, next.turn))) await queues.enqueueStep(next.side, id, next.turn);
    return 'ok';
  };
}

/** The `maxTokens` a call of `side` sent: the conversation's, else the default the budget gate and the Lambda pick. */
function maxTokensSent(deps: PipelineDeps, record: ConversationRecord, side: Side, model: string): number {
  const { config } = deps;
  if (record.settings.maxTokens !== undefined) return record.settings.maxTokens;
  return side === 'cloud'
    ? loadModelCatalog(config.modelCatalogFile).defaultMaxTokens(model, config.defaultMaxTokens)
    : config.defaultMaxTokens;
}
