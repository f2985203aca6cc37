/**
 * What every conversation step shares: load the record, honour terminal states and the deadline,
 * build the abort signal for the provider call, and turn failures into the conversation's fate.
 *
 * Failure policy (docs/architecture.md, "Errors"):
 *  - cancelled (the record went terminal while the call ran) → the step ends quietly;
 *  - the conversation deadline passed → `timed_out`, partial transcript;
 *  - permanent provider error → `failed` at once with the provider's message (UnrecoverableError);
 *  - retryable error → thrown for BullMQ to retry with backoff; on the last attempt → `failed`;
 *  - cloud throttled (429) with CLOUD_THROTTLE_BACKOFF_MS > 0 → the cloud queue is rate-limited
 *    for that long on every host and the job waits again without using an attempt. Only a real
 *    throttle: a Bedrock quota (ServiceQuotaExceeded) or a model not ready is retried per job;
 *  - cloud model access pending (`model_access_pending`: Bedrock's AWS Marketplace subscription is
 *    not complete) → the job is delayed MODEL_ACCESS_RETRY_MS, or the minutes Bedrock's message
 *    names if more ({@link waitForModelAccess}), without using an attempt and without pausing
 *    other conversations; after MODEL_ACCESS_MAX_WAIT_MS in all (or near the deadline) → `failed`;
 *  - an API Gateway usage-plan quota (`gateway_quota_exceeded`, 429 LimitExceededException) is
 *    permanent and never pauses the fleet: it lasts until the plan's period resets;
 *  - an answer without usable text (filtered, guardrail, malformed, empty) → the conversation
 *    completes with that stop reason ({@link emptyAnswerReason}); it is never sent as history.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { MODEL_ACCESS_PENDING, retryAfterFromMessage } from '../shared/model-access';
import type { Config } from '../shared/config';
import type { ConversationRecord, ConversationWithTurns, Side } from '../conversation/model';
import type { EndCause } from '../conversation/conversation-end';
import { ConversationEnding } from '../ending/end-conversation';
import type { ConversationStore } from '../store/conversation-store';
import { isTerminal } from '../conversation/model';
import { errorMessage, PipelineError, ProviderError } from '../shared/errors';
import type { LlmCall, LlmProvider, LlmReply } from '../providers/llm-provider';
import type { Logger } from '../shared/logger';
import type { ArchiveStore } from '../store/interfaces/archive-store';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { abortScope } from '../providers/abort-scope';
import type { CancelRegistry } from '../coordination/cancel-registry';
import type { BudgetGate, PreviousCall } from './budget-gate';
import { callCostUsd, type PriceTable } from '../cost/price-table';
import type { ModelQuirks } from '../store/model-quirks';

export interface PipelineDeps {
  config: Config;
  store: ConversationStore;
  queues: PipelineQueues;
  cloud: LlmProvider;
  local: LlmProvider;
  cancels: CancelRegistry;
  logger: Logger;
  /** Observers for metrics (optional). */
  hooks?: StepHooks;
  /** Budgets checked around each call (absent: none are enforced). */
  budget?: BudgetGate;
  /** Prices for the cost metric (absent: no cost is counted). */
  prices?: PriceTable;
  /** Parameters models were learned to reject, fleet-wide (absent: nothing is learned or sent). */
  quirks?: ModelQuirks;
  /** The archive of finished conversations (ARCHIVE_URL; absent: none). */
  archive?: ArchiveStore;
}

export interface StepHooks {
  onCall?(
    side: Side,
    model: string,
    latencyMs: number,
    inputTokens: number,
    outputTokens: number,
    cache?: { readTokens?: number; writeTokens?: number; promptEvalMs?: number },
  ): void;
  onCallError?(side: Side, errorClass: string): void;
  /** The call's cost in USD, when its model has a price. */
  onCost?(side: Side, model: string, usd: number): void;
  onTerminal?(status: string, reason: string): void;
  /** A reply cut at its token cap or context window (`truncated`). */
  onTruncated?(side: Side, model: string): void;
}

/** Thrown inside a step when the conversation ended under it (cancel, deadline); not a failure. */
class ConversationEnded extends PipelineError {
  constructor(message: string) {
    super(message, { code: 'conversation_ended' });
    this.name = 'ConversationEnded';
  }
}

/**
 * The fields every log line about a job carries: conversation, turn, side (the queue's job name),
 * job id and attempt (1-based). Processors log through `logger.child(jobLogFields(job))`.
 */
export function jobLogFields(job: Job): { conversationId?: string; turn?: number; side: string; jobId?: string; attempt: number } {
  const data = (job.data ?? {}) as { conversationId?: string; turn?: number };
  return { conversationId: data.conversationId, turn: data.turn, side: job.name, jobId: job.id, attempt: job.attemptsMade + 1 };
}

/**
 * A 429 that should pause the cloud queue fleet-wide. Quotas and models warming up are not
 * throttles; a Lambda deployed before they were told apart answered them 429 too, so its message
 * (which names the Bedrock exception) is checked as well.
 */
function isFleetThrottle(err: unknown): boolean {
  if (!(err instanceof ProviderError) || err.status !== 429) return false;
  if (err.code === 'quota_exceeded' || err.code === 'model_not_ready' || err.code === 'gateway_quota_exceeded') return false;
  return !/ServiceQuotaExceededException|ModelNotReadyException/.test(err.message);
}

/** A failed call's outcome: the error the job throws, and the conversation's end when it ends. */
interface CallFailure {
  error: Error;
  end?: Extract<EndCause, { cause: 'failed' | 'timed_out' }>;
}

/**
 * The lifecycle of one step around its provider call: whether it runs at all ({@link begin}),
 * the call's scope and what its failure means ({@link call}, {@link ask}); a conversation it ends
 * goes through {@link ending}.
 */
export class StepLifecycle {
  /** How the conversation ends when a step ends it (ending/end-conversation.ts). */
  readonly ending: ConversationEnding;

  constructor(readonly deps: PipelineDeps) {
    this.ending = new ConversationEnding(deps);
  }

  /**
   * The record and the turns the step of `turn` needs (its own and its history window) if the
   * step should run; null when the conversation is over or unknown.
   */
  async begin(job: Job, conversationId: string, turn: number): Promise<ConversationWithTurns | null> {
    const { store, logger } = this.deps;
    const loaded = await store.loadStep(conversationId, turn);
    if (!loaded) {
      logger.warn({ ...jobLogFields(job), conversationId }, 'conversation not found (expired or deleted); step skipped');
      return null;
    }
    const { record } = loaded;
    if (isTerminal(record.status)) return null;
    if (Date.now() >= record.deadline) {
      await this.ending.end(
        conversationId,
        { cause: 'timed_out', error: `conversation deadline of ${record.settings.timeoutMinutes} min passed` },
        { log: jobLogFields(job) },
      );
      return null;
    }
    // Only the first step finds it queued; later steps save the round trip.
    if (record.status === 'queued') await store.markRunning(conversationId);
    return loaded;
  }

  /**
   * Runs one provider call with the combined abort signal (job, cancel, deadline) and a per-call
   * timeout no longer than the time left.
   */
  async call<T>(
    job: Job,
    record: ConversationRecord,
    side: Side,
    jobSignal: AbortSignal | undefined,
    fn: (signal: AbortSignal, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const { cancels, config } = this.deps;
    const left = record.deadline - Date.now();
    const perCall = side === 'cloud' ? config.apiGatewayTimeoutMs : config.ollamaTimeoutMs;
    const conv = cancels.register(record.id, record.createdAt);
    // Cancel, the conversation's deadline, and the job's own signal (lock lost, shutdown).
    const scope = abortScope([conv.signal, jobSignal], left);
    let failed: { err: unknown };
    try {
      return await fn(scope.signal, Math.max(1, Math.min(perCall, left)));
    } catch (err) {
      failed = { err };
    } finally {
      scope.dispose();
      conv.release();
    }
    // Outside the call's scope: decide what the failure means, then carry out the decision.
    const failure = await this.classify(job, record, side, failed.err, jobSignal);
    if (failure.end) await this.ending.end(record.id, failure.end, { log: jobLogFields(job) });
    throw failure.error;
  }

  /**
   * Asks one side's model within {@link call}: the conversation's sampling settings, id and turn
   * are added here, and the metrics hook sees the reply. Resolves null when the conversation
   * ended under the call (cancel, deadline): the step then ends quietly.
   */
  async ask(
    job: Job<{ turn: number }>,
    record: ConversationRecord,
    side: Side,
    jobSignal: AbortSignal | undefined,
    call: Pick<LlmCall, 'prompt' | 'model' | 'system' | 'history' | 'think' | 'fallbackModels'>,
    previous?: PreviousCall,
  ): Promise<LlmReply | null> {
    const provider = side === 'cloud' ? this.deps.cloud : this.deps.local;
    const s = record.settings;
    // Budgets: reserve the call's worst case first; a refusal ends the conversation, completed.
    const gate = this.deps.budget ? await this.deps.budget.reserve(job, record, side, call, previous) : { ok: true as const };
    if (!gate.ok) {
      this.deps.logger.warn(
        { ...jobLogFields(job), conversationId: record.id, reason: gate.message },
        'budget exhausted; conversation ends',
      );
      await this.ending.end(record.id, { cause: 'stopped', reason: 'budget_exhausted' });
      return null;
    }
    const held = gate.held;
    const learnedOmissions =
      side === 'cloud' ? await this.learnedOmissions(job, [call.model ?? '', ...(call.fallbackModels ?? [])]) : undefined;
    try {
      const reply = await this.call(job, record, side, jobSignal, (signal, timeoutMs) =>
        provider
          .generate({
            ...call,
            temperature: s.temperature,
            maxTokens: held?.maxTokens ?? s.maxTokens,
            conversationId: record.id,
            turn: job.data.turn,
            signal,
            timeoutMs,
            lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
            ...(learnedOmissions ? { learnedOmissions } : {}),
          })
          .then(
            async (r) => {
              await held?.settle(r);
              return r;
            },
            async (err: unknown) => {
              await held?.fail(err);
              throw err;
            },
          ),
      );
      const cache = { readTokens: reply.cacheReadInputTokens, writeTokens: reply.cacheWriteInputTokens };
      this.deps.hooks?.onCall?.(side, reply.model, reply.latencyMs, reply.inputTokens, reply.outputTokens, {
        ...cache,
        ...(reply.promptEvalMs !== undefined ? { promptEvalMs: reply.promptEvalMs } : {}),
      });
      if (reply.truncated) this.deps.hooks?.onTruncated?.(side, reply.model);
      if (reply.rejectedParameters?.length) await this.learnRejections(job, reply.model, reply.rejectedParameters);
      const usd = this.deps.prices ? callCostUsd(reply.model, side, reply.inputTokens, reply.outputTokens, this.deps.prices, cache) : null;
      if (usd !== null) this.deps.hooks?.onCost?.(side, reply.model, usd);
      return reply;
    } catch (err) {
      if (StepLifecycle.isEnded(err)) return null;
      throw err;
    }
  }

  /** The parameters learned for the call's models; none when nothing is learned or Redis fails to say. */
  private async learnedOmissions(job: Job, models: string[]): Promise<Record<string, string[]> | undefined> {
    if (!this.deps.quirks) return undefined;
    try {
      const found = await this.deps.quirks.omissionsFor(models);
      return Object.keys(found).length ? found : undefined;
    } catch (err) {
      // Without them the Lambda learns again (one rejected Bedrock call): not worth failing the step.
      this.deps.logger.warn(
        { ...jobLogFields(job), err: errorMessage(err) },
        'cannot read the learned model parameter rejections; calling without them',
      );
      return undefined;
    }
  }

  /** Keeps what the model rejected in this call, for every worker's next call to it. */
  private async learnRejections(job: Job, model: string, parameters: string[]): Promise<void> {
    const log = { ...jobLogFields(job), model, parameters };
    try {
      const added = (await this.deps.quirks?.learn(model, parameters)) ?? 0;
      this.deps.logger.warn(
        log,
        `cloud model "${model}" rejected ${parameters.join(', ')}; the call was retried without ${parameters.length > 1 ? 'them' : 'it'}${added ? ' and every worker now leaves it out for this model' : ''} (add the model to MODEL_CATALOG_FILE to make it permanent)`,
      );
    } catch (err) {
      this.deps.logger.warn({ ...log, err: errorMessage(err) }, 'cannot keep the learned model parameter rejection');
    }
  }

  /**
   * What a failed call means for the job and the conversation (read-only apart from the 429
   * pause): the error to throw to BullMQ and, when the conversation ends with it, how.
   */
  private async classify(job: Job, record: ConversationRecord, side: Side, err: unknown, jobSignal?: AbortSignal): Promise<CallFailure> {
    const { store, logger, hooks } = this.deps;
    const now = await store.get(record.id);
    if (!now || isTerminal(now.status)) return { error: new ConversationEnded(`conversation ${now?.status ?? 'gone'}`) };
    if (Date.now() >= record.deadline) {
      return {
        error: new ConversationEnded('deadline exceeded'),
        end: {
          cause: 'timed_out',
          error: `conversation deadline of ${record.settings.timeoutMinutes} min passed during the ${side} call`,
        },
      };
    }
    const pe = err instanceof PipelineError ? err : undefined;
    hooks?.onCallError?.(side, pe ? `${pe.retryable ? 'retryable' : 'permanent'}:${pe.code}` : 'unknown');
    if (jobSignal?.aborted) {
      // Lock lost or worker shutting down: give the job back for another attempt.
      return { error: new Error(`${side} call aborted: ${String(jobSignal.reason ?? 'job cancelled')}`) };
    }
    const backoffMs = this.deps.config.cloudThrottleBackoffMs;
    if (side === 'cloud' && backoffMs > 0 && isFleetThrottle(err)) {
      // Throttled: pause every shard's cloud queue for every worker on every host (the limiter keys in Redis)
      // and put the job back to waiting without using an attempt; the deadline still bounds it.
      // Queue#rateLimit, not the deprecated Worker#rateLimit: same key, no Worker reference needed.
      await this.deps.queues.rateLimitCloud(backoffMs);
      logger.warn({ ...jobLogFields(job), conversationId: record.id, backoffMs }, 'cloud call throttled (429); cloud queue paused');
      return { error: Worker.RateLimitError() };
    }
    if (side === 'cloud' && err instanceof ProviderError && err.code === MODEL_ACCESS_PENDING)
      return this.waitForModelAccess(job, record, err);
    const message = `${side} model: ${errorMessage(err)}`;
    if (err instanceof ProviderError && !err.retryable) {
      return { error: new UnrecoverableError(message), end: { cause: 'failed', reason: 'provider_error', error: message } };
    }
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) {
      return {
        error: new UnrecoverableError(message),
        end: { cause: 'failed', reason: 'retries_exhausted', error: `${message} (after ${attempts} attempts)` },
      };
    }
    logger.warn({ ...jobLogFields(job), conversationId: record.id, side, err: errorMessage(err) }, 'retryable error; will retry');
    return { error: err instanceof Error ? err : new Error(String(err)) };
  }

  /**
   * Model access is being set up (Bedrock subscribes the account to a third-party model through
   * AWS Marketplace; minutes after the role got the actions): this job alone waits, delayed in
   * BullMQ (`moveToDelayed` + DelayedError: no attempt used, no queue paused), then asks again.
   * The first refusal's time is kept in the job's data, so the wait in all is bounded by
   * MODEL_ACCESS_MAX_WAIT_MS and by the conversation's deadline; past either the step fails.
   */
  private async waitForModelAccess(job: Job, record: ConversationRecord, err: ProviderError): Promise<CallFailure> {
    const { config, logger } = this.deps;
    const now = Date.now();
    const data = job.data as { modelAccessWaitSince?: number };
    const since = data.modelAccessWaitSince ?? now;
    const asked = retryAfterFromMessage(err.message);
    const left = Math.min(config.modelAccessMaxWaitMs - (now - since), record.deadline - now - 1000);
    const delay = Math.min(Math.max(config.modelAccessRetryMs, asked ?? 0), left);
    if (delay <= 0 || left < Math.min(config.modelAccessRetryMs, asked ?? config.modelAccessRetryMs)) {
      const waited = Math.round((now - since) / 1000);
      const message = `cloud model: ${errorMessage(err)} (${MODEL_ACCESS_PENDING}: model access still not granted after waiting ${waited} s; MODEL_ACCESS_MAX_WAIT_MS=${config.modelAccessMaxWaitMs}${now + config.modelAccessRetryMs >= record.deadline ? ', and the conversation deadline is near' : ''})`;
      return { error: new UnrecoverableError(message), end: { cause: 'failed', reason: 'provider_error', error: message } };
    }
    if (data.modelAccessWaitSince === undefined) await job.updateData({ ...job.data, modelAccessWaitSince: since });
    await job.moveToDelayed(now + delay, job.token);
    logger.warn(
      { ...jobLogFields(job), conversationId: record.id, delayMs: delay, waitedMs: now - since, askedMs: asked },
      `cloud model access pending (AWS Marketplace subscription); this step waits ${Math.round(delay / 1000)} s and tries again`,
    );
    return { error: new DelayedError() };
  }

  /** True for the quiet end of a step whose conversation ended under it. */
  static isEnded(err: unknown): boolean {
    return err instanceof ConversationEnded;
  }
}
