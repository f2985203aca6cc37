/**
 * A local worker's start-up and readiness checks against its Ollama, through the `ollama` client:
 *  - the model exists (`/api/show`); if not, the worker refuses to start with the exact command to
 *    run (`ollama pull <model>`), or with `pull: true` (OLLAMA_PULL) pulls it, logging progress;
 *  - the model is loaded once (`chat` with no messages and `keep_alive`, Ollama's documented way
 *    to preload), so the first turn does not pay the cold load;
 *  - the models of this Ollama (`/api/tags`) are published for the producer ({@link LocalModelRegistry})
 *    and re-published every `refreshMs` while the worker runs;
 *  - `ready()` answers whether the model is still there, for the worker's `/ready`.
 *
 * @example
 * const check = await startLocalModelCheck({ host, model: 'llama3.2', pull: false, keepAlive: '30m', logger, registry });
 * await check.ready();   // { ready: true }
 * check.stop();
 */
import { Ollama } from 'ollama';
import { errorMessage, PipelineError } from '../shared/errors';
import type { LocalModelRegistry } from '../store/local-models';
import type { Logger } from '../shared/logger';
import { keepAliveValue } from '../providers/ollama-provider';

export interface LocalModelCheckOptions {
  /** Ollama base URL (OLLAMA_HOST in URL form). */
  host: string;
  /** The worker's model (OLLAMA_MODEL). */
  model: string;
  /** Pull the model when it is missing (OLLAMA_PULL). */
  pull: boolean;
  /** `keep_alive` of the warm-up (OLLAMA_KEEP_ALIVE). */
  keepAlive?: string;
  logger: Logger;
  /** Where to publish this Ollama's models; none: not published. */
  registry?: LocalModelRegistry;
  /** How often the models are re-published, ms. Default 30000; a report lives three times as long. */
  refreshMs?: number;
  /** At most one pull progress line per this many ms (and one per layer's end). Default 2000. */
  progressEveryMs?: number;
  /** Time limit of one check request (show, tags), ms. Default 10000. The pull has none. */
  requestTimeoutMs?: number;
  /** Time limit of the warm-up (a cold load of a large model takes tens of seconds), ms. Default 120000. */
  warmTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface LocalModelCheck {
  /** Whether the model is still on the Ollama (live `/api/show`), with the reason when not. */
  ready(): Promise<{ ready: boolean; reason?: string }>;
  /** Stops re-publishing. */
  stop(): void;
}

/** The message of a worker whose model is missing, with what to run. */
export function missingModelMessage(host: string, model: string): string {
  return `Ollama at ${host} has no model "${model}": run \`ollama pull ${model}\` on that host, or set OLLAMA_PULL=true to let the worker pull it at start`;
}

const status = (err: unknown): number | undefined => {
  const s = (err as { status_code?: unknown } | undefined)?.status_code;
  return typeof s === 'number' ? s : undefined;
};

/** The percentage of a pull so far over every layer seen. */
function percent(layers: Map<string, { total: number; completed: number }>): number {
  let total = 0;
  let done = 0;
  for (const l of layers.values()) {
    total += l.total;
    done += l.completed;
  }
  return total > 0 ? Math.floor((done / total) * 100) : 0;
}

/**
 * Runs the start-up checks (throws a {@link PipelineError} with code `model_not_found` when the
 * model is missing and may not be pulled) and starts re-publishing the models.
 */
export async function startLocalModelCheck(opts: LocalModelCheckOptions): Promise<LocalModelCheck> {
  const { host, model, logger } = opts;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const timed = new Ollama({ host, fetch: (input, init) => fetchImpl(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }) });
  const untimed = new Ollama({ host, fetch: fetchImpl });
  const warmTimeoutMs = opts.warmTimeoutMs ?? 120_000;
  const warming = new Ollama({ host, fetch: (input, init) => fetchImpl(input, { ...init, signal: AbortSignal.timeout(warmTimeoutMs) }) });

  async function hasModel(): Promise<boolean> {
    try {
      await timed.show({ model });
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw new PipelineError(
        `cannot check model "${model}" on Ollama at ${host}: ${errorMessage(err)} (is \`ollama serve\` running there?)`,
        {
          code: 'ollama_unreachable',
          cause: err,
        },
      );
    }
  }

  async function pullModel(): Promise<void> {
    logger.info({ model, host }, `model "${model}" is not on Ollama at ${host}; pulling it (OLLAMA_PULL=true)`);
    const every = opts.progressEveryMs ?? 2000;
    const layers = new Map<string, { total: number; completed: number }>();
    let lastAt = 0;
    let lastStatus = '';
    const started = Date.now();
    for await (const p of await untimed.pull({ model, stream: true })) {
      if (p.digest && p.total) {
        const before = layers.get(p.digest);
        layers.set(p.digest, { total: p.total, completed: p.completed ?? 0 });
        const layerDone = p.completed === p.total && before?.completed !== p.total;
        if (Date.now() - lastAt >= every || layerDone) {
          lastAt = Date.now();
          logger.info(
            { model, status: p.status, completed: p.completed, total: p.total, percent: percent(layers) },
            `pulling ${model}: ${percent(layers)}%`,
          );
        }
      } else if (p.status !== lastStatus) {
        logger.info({ model, status: p.status }, `pulling ${model}: ${p.status}`);
      }
      lastStatus = p.status;
    }
    logger.info({ model, seconds: Math.round((Date.now() - started) / 1000) }, `pulled ${model}`);
  }

  if (!(await hasModel())) {
    if (!opts.pull) throw new PipelineError(missingModelMessage(host, model), { code: 'model_not_found' });
    try {
      await pullModel();
    } catch (err) {
      throw new PipelineError(`pulling model "${model}" from Ollama at ${host} failed: ${errorMessage(err)}`, {
        code: 'model_pull_failed',
        cause: err,
      });
    }
  }

  // Loads the model now rather than on the first turn (a cold load can take tens of seconds).
  const warmStarted = Date.now();
  const keepAlive = opts.keepAlive === undefined ? undefined : keepAliveValue(opts.keepAlive);
  try {
    await warming.chat({ model, messages: [], ...(keepAlive === undefined ? {} : { keep_alive: keepAlive }) });
    const loaded = (await timed.ps()).models.find((m) => m.name === model || m.model === model || m.name === `${model}:latest`) as
      | { context_length?: number }
      | undefined;
    logger.info(
      { model, loadMs: Date.now() - warmStarted, keepAlive: opts.keepAlive, contextLength: loaded?.context_length },
      `model "${model}" loaded`,
    );
  } catch (err) {
    // Not fatal: the first call loads it instead (and reports any real problem as its own error).
    logger.warn({ model, err: errorMessage(err) }, `could not preload model "${model}"; the first call will load it`);
  }

  const refreshMs = opts.refreshMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  async function publish(): Promise<void> {
    if (!opts.registry) return;
    try {
      const { models } = await timed.list();
      await opts.registry.publish(
        models.map((m) => m.name),
        refreshMs * 3,
      );
    } catch (err) {
      logger.warn(
        { err: errorMessage(err) },
        'could not publish the Ollama models (the producer lets every localModel through until it can)',
      );
    }
  }
  if (opts.registry) {
    await publish();
    timer = setInterval(() => void publish(), refreshMs);
    timer.unref();
  }

  return {
    async ready() {
      try {
        return (await hasModel()) ? { ready: true } : { ready: false, reason: missingModelMessage(host, model) };
      } catch (err) {
        return { ready: false, reason: errorMessage(err) };
      }
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
