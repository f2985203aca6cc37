/**
 * The local model check over every endpoint of the pool ({@link startLocalModelCheck} on each):
 * a reachable endpoint without the model refuses the start (or pulls it with OLLAMA_PULL), an
 * unreachable one is only logged while another endpoint is fine (the pool's breaker keeps calls
 * away from it and probes it back in); the start fails when no endpoint passes. The first endpoint
 * that passes publishes its models for the producer. `ready()` is true while any endpoint has the model.
 */
import { errorMessage, type PipelineError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { LocalModelRegistry } from '../store/local-models';
import { startLocalModelCheck, type LocalModelCheck, type LocalModelCheckOptions } from './local-model-check';

export interface PoolModelCheckOptions extends Omit<LocalModelCheckOptions, 'host'> {
  /** The pool's endpoint URLs. */
  endpoints: string[];
  logger: Logger;
  registry?: LocalModelRegistry;
}

/** Runs the check on every endpoint (in parallel); throws the reason when none passes or the model is missing. */
export async function startPoolModelCheck(opts: PoolModelCheckOptions): Promise<LocalModelCheck> {
  const { endpoints, registry, ...rest } = opts;
  const results = await Promise.allSettled(
    endpoints.map((host, i) => startLocalModelCheck({ ...rest, host, registry: i === 0 ? registry : undefined })),
  );
  const checks: LocalModelCheck[] = [];
  let firstErr: unknown;
  for (const [i, r] of results.entries()) {
    if (r.status === 'fulfilled') {
      checks.push(r.value);
      continue;
    }
    const code = (r.reason as PipelineError | undefined)?.code;
    // A host that lacks the model is a setup mistake to fix now, not an outage to ride out.
    if (code === 'model_not_found' || code === 'model_pull_failed') {
      for (const c of checks) c.stop();
      throw r.reason;
    }
    firstErr ??= r.reason;
    opts.logger.warn(
      { endpoint: endpoints[i], err: errorMessage(r.reason) },
      `Ollama endpoint ${endpoints[i]} failed its start check; the pool leaves it out until a probe lets it back in`,
    );
  }
  if (checks.length === 0) throw firstErr;
  return {
    async ready() {
      const all = await Promise.all(checks.map((c) => c.ready()));
      if (all.some((r) => r.ready)) return { ready: true };
      return { ready: false, reason: all.map((r) => r.reason).join('; ') };
    },
    stop() {
      for (const c of checks) c.stop();
    },
  };
}
