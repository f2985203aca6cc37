/**
 * Prometheus metrics of one process (prom-client), on a registry of its own so several instances
 * (tests, the one-host stack) never collide in the global registry.
 *
 * What is measured:
 *  - `llmconv_queue_jobs{queue,state}`: BullMQ job counts, read on scrape (producer only);
 *  - `llmconv_turn_latency_seconds{side,model}`: provider call latency of every recorded step;
 *  - `llmconv_llm_errors_total{side,class}`: failed provider calls by class (`retryable:<code>`...);
 *  - `llmconv_llm_tokens_total{side,model,direction}`: tokens in and out, and the input tokens read
 *    from (`cache_read`) and written to (`cache_write`) Bedrock's prompt cache (not counted in `in`);
 *  - `llmconv_llm_prompt_eval_seconds_total{side,model}`: Ollama's `prompt_eval_duration`, the time
 *    of the prompt tokens past the KV-cache prefix it reused (`prompt_eval_count` is the whole prompt);
 *  - `llmconv_llm_truncated_total{side,model}`: replies cut at their token cap or context window
 *    (the models are the ones conversations name, as for the token counter: bounded by use);
 *  - `llmconv_conversations_finished_total{status,reason}`: terminal transitions this process made;
 *  - process metrics (`llmconv_process_*`, `llmconv_nodejs_*`) from `collectDefaultMetrics`.
 *
 * `model` labels are bounded (shared/model-label.ts): configured or catalogued models only, the
 * rest as `other`.
 *
 * The step counters are fed through {@link PipelineMetrics.hooks}, which fits the workers'
 * `StepHooks` (`deps.hooks`).
 *
 * @example
 * const metrics = createMetrics({ queues: queues.all, labels: { role: 'producer' } });
 * const deps = { ...pipelineDeps, hooks: metrics.hooks };
 * res.end(await metrics.metrics());
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { modelLabeler } from './model-label';

/** The job states BullMQ counts (`Queue.getJobCounts`). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/** The part of a BullMQ `Queue` the metrics read. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** Step observers, structurally the workers' `StepHooks`. */
export interface MetricHooks {
  onCall(
    side: 'cloud' | 'local',
    model: string,
    latencyMs: number,
    inputTokens: number,
    outputTokens: number,
    /** Prompt-cache tokens (Bedrock); `promptEvalMs`: Ollama's prompt_eval_duration (the tokens past its reused KV-cache prefix). */
    cache?: { readTokens?: number; writeTokens?: number; promptEvalMs?: number },
  ): void;
  onCallError(side: 'cloud' | 'local', errorClass: string): void;
  onCost(side: 'cloud' | 'local', model: string, usd: number): void;
  onTerminal(status: string, reason: string): void;
  onTruncated(side: 'cloud' | 'local', model: string): void;
}

export interface PipelineMetricsOptions {
  /** Queues whose job counts are read on every scrape. Default none (worker processes). */
  queues?: CountableQueue[];
  /** Metric name prefix. Default `llmconv_`. */
  prefix?: string;
  /** Collect process metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. `{ role: 'worker' }`. Default none. */
  labels?: Record<string, string>;
  /** Bound on reading the queue counts during a scrape, ms. Default 2000. */
  collectTimeoutMs?: number;
  /** Models with their own `model` label besides the catalogue's (`configuredModels(config)`). Default none. */
  models?: Iterable<string>;
}

/** Latency buckets in seconds: fast emulated calls up to slow local models. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

export class PipelineMetrics {
  readonly registry: Registry;
  readonly turnLatency: Histogram<'side' | 'model'>;
  readonly llmErrors: Counter<'side' | 'class'>;
  readonly tokens: Counter<'side' | 'model' | 'direction'>;
  readonly cost: Counter<'side' | 'model'>;
  readonly truncated: Counter<'side' | 'model'>;
  readonly promptEval: Counter<'side' | 'model'>;
  readonly conversations: Counter<'status' | 'reason'>;
  readonly queueJobs: Gauge<'queue' | 'state'>;
  readonly collectErrors: Counter<'source'>;
  /** Pass as `deps.hooks` to the workers. */
  readonly hooks: MetricHooks;

  constructor(opts: PipelineMetricsOptions = {}) {
    const prefix = opts.prefix ?? 'llmconv_';
    const queues = opts.queues ?? [];
    const timeoutMs = opts.collectTimeoutMs ?? 2000;
    const registry = new Registry();
    if (opts.labels) registry.setDefaultLabels(opts.labels);
    this.registry = registry;
    const registers = [registry];

    this.turnLatency = new Histogram({
      name: `${prefix}turn_latency_seconds`,
      help: 'Latency of each recorded provider call (one side of a turn), by side and model.',
      labelNames: ['side', 'model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.llmErrors = new Counter({
      name: `${prefix}llm_errors_total`,
      help: 'Failed provider calls by side and error class (retryable:<code>, permanent:<code>, unknown).',
      labelNames: ['side', 'class'],
      registers,
    });
    this.tokens = new Counter({
      name: `${prefix}llm_tokens_total`,
      help: 'Tokens sent to (direction="in") and received from (direction="out") the models.',
      labelNames: ['side', 'model', 'direction'],
      registers,
    });
    this.cost = new Counter({
      name: `${prefix}llm_cost_usd_total`,
      help: 'What the model calls cost in USD by the price table (models without a price are not counted).',
      labelNames: ['side', 'model'],
      registers,
    });
    this.truncated = new Counter({
      name: `${prefix}llm_truncated_total`,
      help: 'Replies cut at their token cap or the context window (Converse max_tokens / model_context_window_exceeded, Ollama length), by side and model.',
      labelNames: ['side', 'model'],
      registers,
    });
    this.promptEval = new Counter({
      name: `${prefix}llm_prompt_eval_seconds_total`,
      help: 'Seconds Ollama spent evaluating prompt tokens (prompt_eval_duration: the tokens past the KV-cache prefix it reused; prompt_eval_count, in llm_tokens_total, is the whole prompt), by side and model.',
      labelNames: ['side', 'model'],
      registers,
    });
    this.conversations = new Counter({
      name: `${prefix}conversations_finished_total`,
      help: 'Conversations this process moved to a terminal state, by status and stop reason. Sum over all processes.',
      labelNames: ['status', 'reason'],
      registers,
    });
    // Registered after the queue gauge, and waiting for its collection: prom-client reads all
    // metrics of a scrape concurrently, so a failure is counted in the scrape that saw it.
    let queueCollection: Promise<void> = Promise.resolve();
    let failCollection: () => void = () => undefined;
    this.queueJobs = new Gauge({
      name: `${prefix}queue_jobs`,
      help: 'BullMQ jobs per queue and state, read from Redis at scrape time.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        let done!: () => void;
        queueCollection = new Promise<void>((r) => (done = r));
        this.reset();
        if (queues.length === 0) return done();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`queue counts not read within ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          const counts = await Promise.race([Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))), timeout]);
          // Summed by name: with REDIS_SHARDS each role has a queue per shard.
          const byName = new Map<string, Record<string, number>>();
          queues.forEach((q, i) => {
            const sum = byName.get(q.name) ?? {};
            for (const state of QUEUE_STATES) sum[state] = (sum[state] ?? 0) + (counts[i]![state] ?? 0);
            byName.set(q.name, sum);
          });
          for (const [queue, sum] of byName) for (const state of QUEUE_STATES) this.set({ queue, state }, sum[state] ?? 0);
        } catch {
          // Missing series (not zeros) tell Prometheus the value is unknown while Redis is down.
          failCollection();
        } finally {
          clearTimeout(timer);
          done();
        }
      },
    });
    this.collectErrors = new Counter({
      name: `${prefix}metrics_collect_errors_total`,
      help: 'Scrapes during which a collected value could not be read (e.g. Redis down).',
      labelNames: ['source'],
      registers,
      async collect() {
        await queueCollection;
      },
    });
    const collectErrors = this.collectErrors;
    failCollection = () => collectErrors.inc({ source: 'queues' });

    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix });

    const label = modelLabeler({ configured: opts.models });
    this.hooks = {
      onCall: (side, rawModel, latencyMs, inputTokens, outputTokens, cache) => {
        const model = label(rawModel);
        this.turnLatency.observe({ side, model }, latencyMs / 1000);
        this.tokens.inc({ side, model, direction: 'in' }, inputTokens);
        this.tokens.inc({ side, model, direction: 'out' }, outputTokens);
        if (cache?.readTokens) this.tokens.inc({ side, model, direction: 'cache_read' }, cache.readTokens);
        if (cache?.writeTokens) this.tokens.inc({ side, model, direction: 'cache_write' }, cache.writeTokens);
        if (cache?.promptEvalMs) this.promptEval.inc({ side, model }, cache.promptEvalMs / 1000);
      },
      onCallError: (side, errorClass) => this.llmErrors.inc({ side, class: errorClass }),
      onCost: (side, model, usd) => this.cost.inc({ side, model: label(model) }, usd),
      onTerminal: (status, reason) => this.conversations.inc({ status, reason }),
      onTruncated: (side, model) => this.truncated.inc({ side, model }),
    };
  }

  /** The `Content-Type` of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** These hooks followed by `other`'s (when given), for callers that observe steps too. */
  observe(other?: Partial<MetricHooks>): MetricHooks {
    if (!other) return this.hooks;
    const mine = this.hooks;
    return {
      onCall: (...a) => {
        mine.onCall(...a);
        other.onCall?.(...a);
      },
      onCallError: (...a) => {
        mine.onCallError(...a);
        other.onCallError?.(...a);
      },
      onCost: (...a) => {
        mine.onCost(...a);
        other.onCost?.(...a);
      },
      onTerminal: (...a) => {
        mine.onTerminal(...a);
        other.onTerminal?.(...a);
      },
      onTruncated: (...a) => {
        mine.onTruncated(...a);
        other.onTruncated?.(...a);
      },
    };
  }
}

/** Builds the metrics of one process. See {@link PipelineMetrics}. */
export function createMetrics(opts: PipelineMetricsOptions = {}): PipelineMetrics {
  return new PipelineMetrics(opts);
}
