/**
 * The producer's framework-free core: submit, inspect, cancel and wait for conversations. Koa
 * routes are thin wrappers around these functions.
 */
import { cloudPriced, DEFAULT_PRICES, loadPriceTable, type PriceTable } from '../cost/price-table';
import type { Logger } from '../shared/logger';
import { conversationCost, stepCostUsd } from '../cost/conversation-cost';
import { BudgetStore, conversationBudgetKey } from '../store/budget-store';
import { JudgeStore } from '../store/judge-store';
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../shared/canonical-json';
import { canSee, isLimited, OWNERLESS_ADMIN, type Caller } from '../shared/caller';
import { callerBusyError, CallerGuard } from './caller-guard';
import type { Config } from '../shared/config';
import { isTerminal, type ConversationRecord, type TurnRecord } from '../conversation/model';
import type { ConversationStore } from '../store/conversation-store';
import type { Redis } from 'ioredis';
import type { EventHub } from '../coordination/event-hub';
import { waitForTerminal } from './terminal-wait';
import { PipelineError, ValidationError } from '../shared/errors';
import { LocalModelRegistry, modelMissingMessage } from '../store/local-models';
import type { PipelineQueues } from '../queue/pipeline-queues';
import { contextReason, parseConversationRequest } from '../conversation/conversation-request';
import { completeTurns, ownTurns, parseForkRequest } from '../conversation/fork-rules';
import type { ConversationView, TurnView } from '../api/http-contract';
import { ConversationEnding } from '../ending/end-conversation';

export interface ConversationServiceDeps {
  config: Config;
  store: ConversationStore;
  queues: PipelineQueues;
  /** With it, a `localModel` no live local worker reported is refused at submission (see store/local-models.ts). */
  redis?: Redis;
  /** The process's event hub: waits listen for the end instead of re-reading (producer/terminal-wait.ts). */
  hub?: EventHub;
  /** Legacy-model warnings are logged here too. */
  logger?: Logger;
}

/** Conversation ids are UUIDs: no ':' and never all digits (BullMQ custom id rules). */
export const CONVERSATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class NotFoundError extends PipelineError {
  constructor(id: string) {
    super(`no conversation with id "${id}" (unknown or expired)`, { code: 'not_found', status: 404 });
    this.name = 'NotFoundError';
  }
}

export interface SubmitResult {
  id: string;
  created: boolean;
  record: ConversationRecord;
  /** A cloud model is Legacy in AWS_REGION (conversation/model-admission.ts); empty when none. */
  warnings: string[];
}

/** The 422 for an Idempotency-Key first used with another body (docs/callers.md). */
export class IdempotencyMismatchError extends PipelineError {
  constructor(firstId: string) {
    super(
      'Idempotency-Key was already used with a different request body; send the same body to get the first conversation, or use a new Idempotency-Key',
      {
        code: 'idempotency_key_reused',
        status: 422,
        details: { header: 'Idempotency-Key', conversationId: firstId },
      },
    );
    this.name = 'IdempotencyMismatchError';
  }
}

export class ConversationService {
  private readonly localModels?: LocalModelRegistry;
  private readonly guard: CallerGuard;
  private readonly ending: ConversationEnding;

  constructor(private readonly deps: ConversationServiceDeps) {
    // No metrics hook: the producer counts its cancels from the answers (producer/operator-surface.ts).
    this.ending = new ConversationEnding({ config: deps.config, store: deps.store, queues: deps.queues });
    if (deps.redis) this.localModels = new LocalModelRegistry(deps.redis, deps.config.queuePrefix);
    this.guard = new CallerGuard(deps.store.redis, deps.store.shards);
  }

  /**
   * Validates, records and enqueues turn 1. An idempotent retry returns the first conversation;
   * the key is the caller's own, and a different body under it is a 422 (docs/callers.md).
   */
  async submit(body: unknown, idempotencyKey?: string, caller: Caller = OWNERLESS_ADMIN): Promise<SubmitResult> {
    const { store, queues, config } = this.deps;
    // On the shard its scripts need (an API key's own, an Idempotency-Key's; REDIS_SHARDS).
    const shard = store.shardForNew({ owner: caller.id, limited: isLimited(caller), idempotencyKey });
    const id = store.shards.newId(shard, () => randomUUID());
    // A spent budget refuses new work; a replay of an Idempotency-Key still answers as the first time.
    await this.guard.assertBudget(caller).catch(async (err: unknown) => {
      if (idempotencyKey === undefined || !(await store.hasIdempotencyKey(idempotencyKey, caller.id, shard))) throw err;
    });
    const warnings: string[] = [];
    const settings = parseConversationRequest(body, config, id, { warnings, priced: cloudPriced(config) });
    await this.assertLocalModel(settings.localModel, 'conversation');
    const bodyHash = idempotencyKey === undefined ? undefined : createHash('sha256').update(canonicalJson(body)).digest('hex');
    const res = await store.create(id, settings, { idempotencyKey, bodyHash, owner: caller.id });
    if (res.busy) throw callerBusyError(caller, res.busy);
    if (res.mismatch) throw new IdempotencyMismatchError(res.id);
    const record = await this.recordOf(res);
    // Also on an idempotent retry: if the first request died before enqueueing, this heals it
    // (the deterministic job id makes a second add a no-op).
    if (record.status === 'queued') await queues.enqueueCloud(res.id, 1);
    for (const w of warnings)
      this.deps.logger?.warn(
        { conversationId: res.id, cloudModel: settings.cloudModel, region: config.awsRegion },
        `accepted with a Legacy model: ${w}`,
      );
    return { id: res.id, created: res.created, record, warnings };
  }

  /**
   * Forks a conversation (`POST /conversation/:id/fork`): a new conversation with the parent's
   * turns 1..atTurn-1 (copied by the store, never asked or billed again) that asks turn atTurn
   * with the request's settings (conversation/fork-rules.ts). 404 for a parent the caller cannot
   * see, 400 naming a bad field, 409 when the parent has not recorded turns 1..atTurn-1 (yet).
   * Idempotent under an Idempotency-Key, as `submit`.
   */
  async fork(parentId: string, body: unknown, idempotencyKey?: string, caller: Caller = OWNERLESS_ADMIN): Promise<SubmitResult> {
    const { store, queues, config } = this.deps;
    const parent = await this.get(parentId, caller);
    await this.guard.assertBudget(caller).catch(async (err: unknown) => {
      if (idempotencyKey === undefined || !(await store.hasIdempotencyKey(idempotencyKey, caller.id, store.shards.shardOf(parentId))))
        throw err;
    });
    // A fork lives on its parent's shard (its turns are copied in one script).
    const id = store.shards.newId(store.shards.shardOf(parentId), () => randomUUID());
    const warnings: string[] = [];
    const { atTurn, settings } = parseForkRequest(body, parentId, parent.record.settings, config, id, {
      warnings,
      priced: cloudPriced(config),
    });
    const shared = completeTurns(parent.turns);
    if (parent.record.format !== 2 || shared < atTurn - 1) {
      const why =
        parent.record.format !== 2
          ? 'it was recorded by an older release (record format 1), which forks do not copy'
          : `it has ${shared} complete turn(s) (status ${parent.record.status}) and a fork at turn ${atTurn} shares turns 1..${atTurn - 1}`;
      throw new PipelineError(`cannot fork conversation ${parentId} at turn ${atTurn}: ${why}; fork at an earlier atTurn or wait`, {
        code: 'fork_not_ready',
        status: 409,
        details: { atTurn, completeTurns: shared, status: parent.record.status },
      });
    }
    await this.assertLocalModel(settings.localModel, 'fork');
    const bodyHash = idempotencyKey === undefined ? undefined : createHash('sha256').update(canonicalJson(body)).digest('hex');
    const res = await store.fork(parent, id, settings, { idempotencyKey, bodyHash, owner: caller.id });
    if (res.gone) throw new NotFoundError(parentId);
    if (res.busy) throw callerBusyError(caller, res.busy);
    if (res.mismatch) throw new IdempotencyMismatchError(res.id);
    const record = await this.recordOf(res);
    // As in submit: a retry heals a first request that died before enqueueing.
    if (record.status === 'queued') await queues.enqueueCloud(res.id, record.settings.fork?.atTurn ?? atTurn);
    return { id: res.id, created: res.created, record, warnings };
  }

  /** Refused before the cloud turn is paid for, when the local workers say they lack the model. */
  private async assertLocalModel(localModel: string, what: 'conversation' | 'fork'): Promise<void> {
    const local = await this.localModels?.lookup(localModel);
    if (local?.present === false) {
      const problem = modelMissingMessage(localModel, local.available);
      throw new ValidationError(
        `invalid ${what} request: localModel: ${problem}`,
        [{ field: 'localModel', problem }],
        400,
        'model_not_found',
      );
    }
  }

  /** A new record is known as written; only an idempotent replay reads the winner's (which may still be writing it). */
  private async recordOf(res: { id: string; created: boolean; record?: ConversationRecord }): Promise<ConversationRecord> {
    const { store } = this.deps;
    let record = res.record ?? (await store.get(res.id));
    for (let i = 0; !record && !res.created && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      record = await store.get(res.id);
    }
    if (!record) throw new NotFoundError(res.id);
    return record;
  }

  /** The conversation, when `caller` may see it; another caller's answers exactly like a missing one. */
  async get(id: string, caller: Caller = OWNERLESS_ADMIN): Promise<{ record: ConversationRecord; turns: TurnRecord[] }> {
    if (!CONVERSATION_ID.test(id)) throw new NotFoundError(id);
    const loaded = await this.deps.store.getConversation(id);
    if (!loaded || !canSee(caller, loaded.record.owner)) throw new NotFoundError(id);
    return loaded;
  }

  async view(id: string, caller: Caller = OWNERLESS_ADMIN): Promise<ConversationView> {
    const { record, turns } = await this.get(id, caller);
    const view = toView(record, turns, loadPriceTable(this.deps.config.pricesFile, this.deps.config.modelCatalogFile));
    const forks = await this.deps.store.forks(id);
    if (forks.length) view.forks = forks.map((f) => ({ conversationId: f.id, atTurn: f.atTurn }));
    if (this.deps.redis) {
      const judged = await new JudgeStore(this.deps.redis, this.deps.store.shards, this.deps.store.archiveReads).get(id);
      if (judged) {
        view.judge = {
          status: judged.status,
          scores: judged.scores ?? null,
          model: judged.model,
          attempts: judged.attempts,
          error: judged.error ?? null,
          at: new Date(judged.at).toISOString(),
        };
      }
    }
    if (record.settings.budget && this.deps.redis) {
      const state = await new BudgetStore(this.deps.redis).state(conversationBudgetKey(this.deps.store.shards.at(id), id));
      view.budget = {
        ...record.settings.budget,
        spentUsd: (state?.spentUsdNano ?? 0) / 1e9,
        spentTokens: state?.spentTokens ?? 0,
        reservedUsd: (state?.reservedUsdNano ?? 0) / 1e9,
        reservedTokens: state?.reservedTokens ?? 0,
      };
    }
    return view;
  }

  /** Cancels a running conversation; in-flight calls are aborted by the workers' listeners. */
  async cancel(id: string, caller: Caller = OWNERLESS_ADMIN): Promise<ConversationRecord> {
    const { record } = await this.get(id, caller);
    if (isTerminal(record.status)) {
      throw new PipelineError(`conversation ${id} is already ${record.status}`, {
        code: 'conflict',
        status: 409,
        details: { status: record.status },
      });
    }
    await this.ending.end(id, { cause: 'cancelled', error: 'cancelled by request' }, { record });
    return (await this.deps.store.get(id))!;
  }

  /**
   * Resolves when the conversation is terminal, or at `timeoutMs`, or when `signal` aborts (the
   * record as it is then). Event-driven through the hub (see producer/terminal-wait.ts); the
   * conversation itself is never changed by the wait ending.
   */
  async waitForTerminal(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ConversationRecord> {
    const record = await waitForTerminal({ store: this.deps.store, hub: this.deps.hub }, id, timeoutMs, signal);
    if (!record) throw new NotFoundError(id);
    return record;
  }

  /**
   * The terminal `record` once its transcript file is written (the transcript step runs right
   * after the terminal transition, usually within milliseconds): a bounded re-read, at most
   * `timeoutMs`, ended early by `signal`. Resolves with the record as it is then, path or not.
   */
  async waitForTranscript(record: ConversationRecord, timeoutMs: number, signal?: AbortSignal): Promise<ConversationRecord> {
    const end = Date.now() + timeoutMs;
    let current = record;
    while (!current.transcriptPath && Date.now() < end && !signal?.aborted) {
      await new Promise((r) => setTimeout(r, 50));
      current = (await this.deps.store.get(record.id)) ?? current;
    }
    return current;
  }
}

/** The API's view of a conversation; costs by `prices` (the shipped table unless given). */
export function toView(record: ConversationRecord, turns: TurnRecord[], prices: PriceTable = DEFAULT_PRICES): ConversationView {
  const totals = {
    cloudInputTokens: 0,
    cloudOutputTokens: 0,
    localInputTokens: 0,
    localOutputTokens: 0,
    cloudLatencyMs: 0,
    localLatencyMs: 0,
    cloudCacheReadInputTokens: 0,
    cloudCacheWriteInputTokens: 0,
    localPromptEvalMs: 0,
  };
  const at = record.settings.fork?.atTurn ?? 0;
  const views: TurnView[] = turns
    .filter((t) => t.cloud)
    .map((t) => {
      const c = t.cloud!;
      const l = t.local;
      // A fork's shared turns are shown, and counted where they were asked (its parent).
      const own = t.turn >= at;
      if (own) {
        totals.cloudInputTokens += c.inputTokens;
        totals.cloudOutputTokens += c.outputTokens;
        totals.cloudLatencyMs += c.latencyMs;
        totals.cloudCacheReadInputTokens += c.cacheReadInputTokens ?? 0;
        totals.cloudCacheWriteInputTokens += c.cacheWriteInputTokens ?? 0;
      }
      if (l && own) {
        totals.localInputTokens += l.inputTokens;
        totals.localOutputTokens += l.outputTokens;
        totals.localLatencyMs += l.latencyMs;
        totals.localPromptEvalMs = Math.round((totals.localPromptEvalMs + (l.promptEvalMs ?? 0)) * 100) / 100;
      }
      return {
        turn: t.turn,
        timestamp: new Date(c.startedAt).toISOString(),
        question: c.question,
        cloudResponse: c.answer,
        ollamaResponse: l?.followUp ?? null,
        processingTimeMs: c.latencyMs + (l?.latencyMs ?? 0),
        ...(own ? {} : { shared: true as const }),
        cloud: {
          model: c.model,
          inputTokens: c.inputTokens,
          outputTokens: c.outputTokens,
          latencyMs: c.latencyMs,
          stopReason: c.stopReason,
          costUsd: stepCostUsd('cloud', c, prices),
          ...(c.requestedModel ? { requestedModel: c.requestedModel } : {}),
          ...(c.truncated ? { truncated: true } : {}),
          ...(c.reasoningTokens !== undefined
            ? { reasoningTokens: c.reasoningTokens, ...(c.reasoningTokensEstimated ? { reasoningTokensEstimated: true } : {}) }
            : {}),
          ...(c.omittedParameters?.length ? { omittedParameters: c.omittedParameters } : {}),
          ...(c.cacheReadInputTokens ? { cacheReadInputTokens: c.cacheReadInputTokens } : {}),
          ...(c.cacheWriteInputTokens ? { cacheWriteInputTokens: c.cacheWriteInputTokens } : {}),
        },
        local: l
          ? {
              model: l.model,
              inputTokens: l.inputTokens,
              outputTokens: l.outputTokens,
              latencyMs: l.latencyMs,
              stopReason: l.stopReason,
              costUsd: stepCostUsd('local', l, prices),
              ...(l.thinking ? { thinking: l.thinking } : {}),
              ...(l.promptTruncated ? { promptTruncated: true } : {}),
              ...(l.truncated ? { truncated: true } : {}),
              ...(l.promptEvalMs !== undefined ? { promptEvalMs: l.promptEvalMs } : {}),
              ...(l.goal ? { goal: l.goal } : {}),
            }
          : null,
      };
    });
  const iso = (ms?: number) => (ms ? new Date(ms).toISOString() : null);
  return {
    conversationId: record.id,
    status: record.status,
    stopReason: record.stopReason ?? null,
    error: record.error ?? null,
    createdAt: iso(record.createdAt)!,
    updatedAt: iso(record.updatedAt)!,
    finishedAt: iso(record.finishedAt),
    deadline: iso(record.deadline)!,
    maxTurns: record.settings.maxTurns,
    turnsCompleted: views.filter((v) => v.ollamaResponse !== null).length,
    cloudModel: record.settings.cloudModel,
    localModel: record.settings.localModel,
    outputFile: record.settings.outputFile,
    transcriptFile: record.transcriptPath ?? null,
    ...(record.settings.persona !== undefined ? { persona: record.settings.persona } : {}),
    ...(record.settings.goal !== undefined ? { goal: record.settings.goal } : {}),
    ...(record.nearDuplicateOf ? { nearDuplicateOf: record.nearDuplicateOf } : {}),
    context: {
      policy: record.settings.contextPolicy ?? 'sliding',
      turns: record.settings.contextTurns,
      ...(record.settings.contextPolicy === 'blocks' && record.settings.contextTokens !== undefined
        ? { tokens: record.settings.contextTokens }
        : {}),
      reason: contextReason(record.settings),
    },
    turns: views,
    ...(record.settings.fork ? { fork: { ...record.settings.fork } } : {}),
    totals,
    cost: conversationCost(ownTurns(record.settings, turns), prices),
  };
}

/** The seed's synchronous `/conversation` answer. */
export function toSeedResponse(view: ConversationView) {
  const conversation = view.turns.map((t) => ({
    timestamp: t.timestamp,
    query: t.question,
    cloudResponse: t.cloudResponse ?? '',
    ollamaResponse: t.ollamaResponse ?? '',
    processingTimeMs: t.processingTimeMs ?? 0,
  }));
  const total = conversation.reduce((a, c) => a + c.processingTimeMs, 0);
  return {
    turns: conversation.length,
    averageProcessingTimeMs: conversation.length ? Math.round(total / conversation.length) : 0,
    conversation,
    conversationId: view.conversationId,
    status: view.status,
    stopReason: view.stopReason,
    // Where the rest is: the status, the CSV over HTTP, and the file in OUTPUT_DIR once written.
    statusUrl: `/conversation/${view.conversationId}`,
    transcriptUrl: `/conversation/${view.conversationId}/transcript`,
    transcriptFile: view.transcriptFile,
  };
}
