/**
 * What the fleet learned about models the catalogue does not know: the inference parameters each
 * rejects. The Lambda retries a call once without a parameter that a ValidationException names
 * and reports it (`LlmResponse.rejected_parameters`); the worker keeps it here, and every worker
 * on every host then sends it with each call to that model (`LlmRequest.omit_parameters`), so the
 * rejection costs one failed Bedrock call per model, not one per call.
 *
 * Key (under the queue prefix's hash tag, like every other key of the pipeline):
 *   <prefix>:model-quirks   hash  model id → JSON list of parameters ("temperature", "top_p", "system")
 * A fact is never expired: a model does not start accepting a parameter it rejected. To forget one
 * (e.g. after a catalogue row was added), `HDEL <prefix>:model-quirks <model id>`.
 */
import type { Redis } from 'ioredis';
import { loadScript } from './redis-script';

/** The hash of learned facts. */
export const modelQuirksKey = (prefix: string) => `${prefix}:model-quirks`;

/** Parameters a model may be learned to reject. */
const KNOWN = new Set(['temperature', 'top_p', 'system']);

/** Most models kept: a bound against a fleet that calls arbitrary model ids. */
export const MAX_QUIRK_MODELS = 1000;

// Merges the new parameters into the model's list in one step (store/lua/model-quirks/learn.lua).
const LEARN = loadScript('model-quirks/learn', 1);

export class ModelQuirks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The parameters learned for each of `models` (models without any are left out). */
  async omissionsFor(models: readonly string[]): Promise<Record<string, string[]>> {
    const ids = [...new Set(models.filter(Boolean))];
    if (ids.length === 0) return {};
    const values = await this.redis.hmget(modelQuirksKey(this.prefix), ...ids);
    const out: Record<string, string[]> = {};
    ids.forEach((id, i) => {
      const v = values[i];
      if (!v) return;
      try {
        const list = (JSON.parse(v) as unknown[]).filter((p): p is string => typeof p === 'string' && KNOWN.has(p));
        if (list.length) out[id] = list;
      } catch {
        // A hand-edited bad entry is ignored (the Lambda learns it again).
      }
    });
    return out;
  }

  /** Keeps that `model` rejects `parameters`; returns how many were new. */
  async learn(model: string, parameters: readonly string[]): Promise<number> {
    const known = parameters.filter((p) => KNOWN.has(p));
    if (!model || known.length === 0) return 0;
    return Number(await LEARN.run(this.redis, [modelQuirksKey(this.prefix)], [model, String(MAX_QUIRK_MODELS), ...known]));
  }
}
