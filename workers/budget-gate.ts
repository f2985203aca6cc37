/**
 * The budget check around one model call (README, "Budgets"). Before the call, the call's worst
 * case is reserved against every budget that applies (the conversation's, and its run's when the
 * conversation belongs to a run and the run has one); after it, the real usage is settled.
 *
 * Worst case: input tokens ≤ the UTF-8 bytes of the prompt, system prompt and history plus
 * {@link MESSAGE_OVERHEAD} per message and {@link CALL_OVERHEAD} per call (a byte-level BPE token
 * is at least one byte; the overheads cover the chat template's own tokens), and output tokens ≤
 * `maxTokens` (the conversation's, else DEFAULT_MAX_TOKENS, which is then sent to both models so
 * the bound holds for Ollama too), priced with the price table.
 *
 * On the cloud side, once the conversation has a recorded call of the same model, the input bound
 * is also at most that call's real input (Bedrock's usage: `inputTokens` plus the cache's read and
 * written tokens) plus the bound of what this call adds to it, its answer (now history) and the new
 * prompt ({@link inputTokensBoundAfter}): both context policies only ever drop history from the
 * front, and the system prompt is the conversation's, so nothing else is new. The lower of the two
 * is reserved, so a budget pays for the tokens a call can really take, not four bytes a token.
 * The previous call is the previous turn's step, read with the step (the loader always reads it):
 * no state of its own.
 *
 * A failed call books nothing when the service refused it (a 4xx other than 408: nothing was
 * generated), and its whole reservation otherwise (a timeout or 5xx may still have been billed).
 */
import { ShardSet } from '../shared/redis-shards';
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { ConversationRecord, Side } from '../conversation/model';
import { cacheWritePremium, callCostUsd, type PriceTable } from '../cost/price-table';
import type { LlmCall, LlmReply } from '../providers/llm-provider';
import type { Config } from '../shared/config';
import { ProviderError } from '../shared/errors';
import { loadModelCatalog } from '../shared/model-catalog';
import { type BudgetScope, type BudgetStore, conversationBudgetKey, runBudgetKey, toNano } from '../store/budget-store';
import { callerBudgetKey, callerKey } from '../store/caller-store';
import { RunStore } from '../store/run-store';

export const MESSAGE_OVERHEAD = 16;
export const CALL_OVERHEAD = 64;

/**
 * The smallest `maxTokens` a call is lowered to so it fits the budget that is left (README,
 * "Budgets"): below it the chain stops with `budget_exhausted`, since a reply that short is rarely
 * a usable turn.
 */
export const MIN_BUDGET_MAX_TOKENS = 32;

/** A held reservation: settle it with the reply, or release it after a failure. */
export interface HeldBudget {
  /** The `maxTokens` the call must send (the bound the reservation assumed). */
  maxTokens: number;
  settle(reply: LlmReply): Promise<void>;
  fail(err: unknown): Promise<void>;
}

export type GateResult = { ok: true; held?: HeldBudget } | { ok: false; message: string };

/** Upper bound of a call's input tokens (see the file comment). */
export function inputTokensBound(call: Pick<LlmCall, 'prompt' | 'system' | 'history'>): number {
  const texts = [call.prompt, call.system ?? '', ...(call.history ?? []).map((h) => h.content)];
  return CALL_OVERHEAD + texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8') + MESSAGE_OVERHEAD, 0);
}

/** The same side's previous call of the conversation as recorded (a cloud step), for {@link inputTokensBoundAfter}. */
export interface PreviousCall {
  model: string;
  inputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
  /** Its reply, which this call sends back as history. */
  answer: string;
}

/**
 * Upper bound of a cloud call's input tokens given the previous call's real input: that, plus the
 * byte bound of its answer and of this call's prompt (see the file comment). Undefined when the
 * previous call does not apply: none, another model (another tokenizer), or this call's history
 * does not end with the previous exchange.
 */
export function inputTokensBoundAfter(
  call: Pick<LlmCall, 'prompt' | 'model' | 'history'>,
  previous: PreviousCall | undefined,
): number | undefined {
  if (!previous || previous.model !== call.model) return undefined;
  const last = call.history?.at(-1);
  if (last?.role !== 'assistant' || last.content !== previous.answer) return undefined;
  const real = previous.inputTokens + (previous.cacheReadInputTokens ?? 0) + (previous.cacheWriteInputTokens ?? 0);
  return real + inputTokensBound({ prompt: call.prompt, history: [last] });
}

export class BudgetGate {
  private readonly shards: ShardSet;

  constructor(
    private readonly store: BudgetStore,
    private readonly config: Pick<
      Config,
      | 'queuePrefix'
      | 'defaultMaxTokens'
      | 'apiGatewayTimeoutMs'
      | 'ollamaTimeoutMs'
      | 'lockDurationMs'
      | 'retentionSeconds'
      | 'modelCatalogFile'
    > &
      Partial<Pick<Config, 'redisShards'>>,
    private readonly prices: PriceTable,
    /** The run store (the owner of a run's hash, where a refusal stops its admission). Default: on the budget store's connection. */
    private readonly runs: RunStore = new RunStore(store.redis, ShardSet.fromConfig(config)),
  ) {
    this.shards = ShardSet.fromConfig(config);
  }

  /** The budgets that may apply to the conversation's calls: its own, its run's, its owner's (API_KEYS_FILE); all on the conversation's shard. */
  scopes(record: ConversationRecord): BudgetScope[] {
    const s = record.settings;
    const at = this.shards.at(record.id);
    const out: BudgetScope[] = [];
    if (s.budget) {
      out.push({
        name: 'conversation',
        key: conversationBudgetKey(at, record.id),
        init: { usdNano: s.budget.usd === undefined ? undefined : Math.round(s.budget.usd * 1e9), tokens: s.budget.tokens },
      });
    }
    // A fork of a run's conversation is not the run's, but spends under its budget (docs/branches.md).
    const runId = s.run?.id ?? s.fork?.runId;
    if (runId) out.push({ name: `run ${runId}`, key: runBudgetKey(at, runId) });
    // Applies only where the producer made the hash (a key of API_KEYS_FILE, store/caller-store.ts).
    if (record.owner !== undefined) out.push({ name: `API key ${record.owner}`, key: callerBudgetKey(at, record.owner) });
    return out;
  }

  /** Reserves the call's worst case; `{ok: true}` without `held` when no budget applies. */
  async reserve(
    job: Job,
    record: ConversationRecord,
    side: Side,
    call: Pick<LlmCall, 'prompt' | 'model' | 'system' | 'history'>,
    previous?: PreviousCall,
  ): Promise<GateResult> {
    const scopes = this.scopes(record);
    if (scopes.length === 0) return { ok: true };
    const s = record.settings;
    const model = call.model ?? (side === 'cloud' ? record.settings.cloudModel : record.settings.localModel);
    // What the Lambda would send anyway (the catalogue's default or DEFAULT_MAX_TOKENS, lowered to the model's cap), now explicit.
    const maxTokens =
      record.settings.maxTokens ??
      (side === 'cloud'
        ? loadModelCatalog(this.config.modelCatalogFile).defaultMaxTokens(model, this.config.defaultMaxTokens)
        : this.config.defaultMaxTokens);
    const bytes = inputTokensBound(call);
    const known = side === 'cloud' ? inputTokensBoundAfter({ ...call, model }, previous) : undefined;
    const input = known === undefined ? bytes : Math.min(bytes, known);
    // With caching on, every input token may be written to the cache at its premium (cost/price-table.ts).
    const caches =
      side === 'cloud' &&
      s.cache !== false &&
      loadModelCatalog(this.config.modelCatalogFile).cacheRules(model) !== undefined &&
      cacheWritePremium(model, side, this.prices) > 1;
    const worstOf = (max: number) => {
      const usd = caches
        ? callCostUsd(model, side, 0, max, this.prices, { writeTokens: input })
        : callCostUsd(model, side, input, max, this.prices);
      return { usdNano: usd === null ? null : toNano(usd), tokens: input + max };
    };
    const id = `${job.id}:${job.attemptsMade + 1}:${randomUUID().slice(0, 8)}`;
    // Held past the longest the call can run (it is aborted at its timeout); a crashed worker's
    // reservation is released when it expires.
    const ttlMs = (side === 'cloud' ? this.config.apiGatewayTimeoutMs : this.config.ollamaTimeoutMs) + this.config.lockDurationMs + 30_000;
    const keep = Math.max(0, record.deadline - Date.now()) / 1000 + this.config.retentionSeconds;
    // The worst case at the call's maxTokens; when a budget cannot cover it, the call asks for as
    // many output tokens as the budget left can pay for, down to MIN_BUDGET_MAX_TOKENS (one try per
    // budget that applies: lowering for one may still not fit another).
    let max = maxTokens;
    let worst = worstOf(max);
    let r = await this.store.reserve(scopes, id, worst, ttlMs, keep);
    for (let tries = 0; !r.ok && r.available !== undefined && tries < scopes.length; tries++) {
      const fit = this.maxTokensThatFit(model, side, input, caches, r.reason, r.available);
      if (fit >= max || fit < MIN_BUDGET_MAX_TOKENS) break;
      max = fit;
      worst = worstOf(max);
      r = await this.store.reserve(scopes, id, worst, ttlMs, keep);
    }
    if (!r.ok) {
      // The run's own budget cannot cover a call: the run stops admitting, and says why.
      const runId = s.run?.id ?? s.fork?.runId;
      if (runId && r.scope === `run ${runId}`) await this.runs.markBudgetExhausted(runId, r.message);
      // The API key's: the producer refuses its new work (402) until the limit changes (producer/caller-guard.ts).
      if (record.owner !== undefined && r.scope === `API key ${record.owner}`)
        await this.store.markExhausted(callerKey(this.shards.at(record.id), record.owner), r.message);
      return { ok: false, message: r.message };
    }
    const maxTokensSent = max;
    return {
      ok: true,
      held: {
        maxTokens: maxTokensSent,
        settle: async (reply) => {
          const cache = { readTokens: reply.cacheReadInputTokens, writeTokens: reply.cacheWriteInputTokens };
          const usd = callCostUsd(reply.model || model, side, reply.inputTokens, reply.outputTokens, this.prices, cache);
          const cached = (cache.readTokens ?? 0) + (cache.writeTokens ?? 0);
          await this.store.settle(scopes, id, {
            usdNano: usd === null ? 0 : toNano(usd),
            tokens: reply.inputTokens + cached + reply.outputTokens,
          });
        },
        fail: async (err) => {
          const refused =
            err instanceof ProviderError && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 408;
          await this.store.settle(scopes, id, refused ? { usdNano: 0, tokens: 0 } : { usdNano: worst.usdNano ?? 0, tokens: worst.tokens });
        },
      },
    };
  }

  /**
   * The largest `maxTokens` whose worst case fits `available` (tokens, or nano-USD) with this input.
   */
  private maxTokensThatFit(
    model: string,
    side: Side,
    input: number,
    caches: boolean,
    reason: 'usd' | 'tokens' | 'price_unknown',
    available: number,
  ): number {
    if (reason === 'tokens') return Math.floor(available - input);
    const inUsd = caches
      ? callCostUsd(model, side, 0, 0, this.prices, { writeTokens: input })
      : callCostUsd(model, side, input, 0, this.prices);
    const per1kOut = callCostUsd(model, side, 0, 1000, this.prices);
    if (inUsd === null || per1kOut === null || per1kOut <= 0) return 0;
    // Nano-USD rounding up in toNano: keep one nano-dollar of room per call.
    return Math.floor(((available - 1) / 1e9 - inUsd) / (per1kOut / 1000));
  }
}
