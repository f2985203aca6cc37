/**
 * The `model` label of the metrics, bounded: a caller names its own `cloudModel` (any string the
 * request schema accepts, `../../etc/passwd` included), and every distinct label value is a series
 * Prometheus keeps. A model gets its own series when it is configured (BEDROCK_MODEL_ID,
 * OLLAMA_MODEL, CLOUD_LIMITS) or the model catalogue knows it, and then only the first
 * {@link MAX_MODEL_LABELS} such names (catalogue rows match by prefix, so a known prefix with any
 * tail would still be unbounded); every other model is counted as {@link OTHER_MODEL}.
 *
 * @example
 * const label = modelLabeler({ configured: configuredModels(config) });
 * label('anthropic.claude-3-haiku-20240307-v1:0'); // itself
 * label('../../etc/passwd');                       // 'other'
 */
import type { Config } from './config';
import { SHIPPED_CATALOG, type ModelCatalog } from './model-catalog';

export const OTHER_MODEL = 'other';
/** Distinct model label values besides the configured ones and `other`. */
export const MAX_MODEL_LABELS = 50;

/** A label value that looks like a model id (no path walk, no control characters, not too long). */
const MODEL_SHAPE = /^(?!.*\.\.)[A-Za-z0-9._:/@+-]{1,200}$/;

/** The models a process is configured with, for {@link modelLabeler}. */
export function configuredModels(config: Partial<Pick<Config, 'bedrockModelId' | 'ollamaModel' | 'cloudLimits'>>): string[] {
  return [config.bedrockModelId, config.ollamaModel, ...Object.keys(config.cloudLimits ?? {})].filter((m): m is string => Boolean(m));
}

export function modelLabeler(opts: { configured?: Iterable<string>; catalog?: ModelCatalog } = {}): (model: string) => string {
  const configured = new Set(opts.configured ?? []);
  const catalog = opts.catalog ?? SHIPPED_CATALOG;
  const known = new Set<string>();
  return (model: string) => {
    if (configured.has(model)) return model;
    if (known.has(model)) return model;
    if (known.size >= MAX_MODEL_LABELS || !MODEL_SHAPE.test(model) || !catalog.lookup(model)) return OTHER_MODEL;
    known.add(model);
    return model;
  };
}
