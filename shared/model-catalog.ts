/**
 * The model catalogue: every fact the project holds about a Bedrock model family, in one data file
 * (`shared/model-catalog.json`, shipped) that each row says where and when it was read. The
 * producer, the Lambda, cost and budgets read model facts only from here.
 *
 * `MODEL_CATALOG_FILE` (JSON or YAML, same shape) overrides it: its rows are matched before the
 * shipped ones (the first matching row wins), or replace them all with `"replace": true`.
 *
 * Ids: a model id, an inference-profile id (`us.`, `eu.`, `global.` ...) or an ARN is reduced to
 * its base model id ({@link baseModelId}) before matching. Newer ids have no date suffix
 * (`anthropic.claude-opus-4-7`), so patterns never assume one.
 *
 * The shipped rows (one per family, read 2026-12-02) come from: litellm's
 * model_prices_and_context_window.json (ids, context windows, output caps, on-demand prices with
 * cache read/write, the 10 % markup of geographic profiles), the Bedrock user guide (model
 * lifecycle and its Legacy table, model access, parameter pages, adaptive thinking) and reported
 * Bedrock/Anthropic answers for the parameter facts; each row's `source` names its own, and its
 * `notes` what no source said (such a fact is left out of the row, never guessed). A model the
 * catalogue does not know has no price, no cap and is assumed active and to accept every parameter.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors';
import shipped from './model-catalog.json';

/** Where a model stands in one region. `end_of_life`: Bedrock refuses every call. */
export type LifecycleStatus = 'active' | 'legacy' | 'end_of_life';

export interface LifecycleEntry {
  status: LifecycleStatus;
  /** ISO date the model became Legacy in that region. */
  legacyDate?: string;
  /** ISO date of end of life (past or planned) in that region. */
  endOfLifeDate?: string;
}

export interface ModelPrices {
  /** USD per 1,000 tokens. */
  inputPer1k: number;
  outputPer1k: number;
  cacheReadPer1k?: number;
  cacheWritePer1k?: number;
}

/**
 * Bedrock prompt caching of a family (Converse `cachePoint` blocks), read from the Bedrock user
 * guide's prompt-caching page (docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html,
 * read 2026-12-03) or the source the row names. A family without it is not cache-capable: no
 * checkpoint is ever sent to it.
 */
export interface CacheRules {
  /** A checkpoint is honoured only once the prefix before it holds this many tokens (each further one as many more). */
  minTokensPerCheckpoint: number;
  /** `cachePoint` blocks allowed in one request (system, messages and tools together). */
  maxCheckpoints: number;
  /** TTLs the family takes (`5m` default; `1h` where offered); a cache hit restarts the TTL. */
  ttls: ('5m' | '1h')[];
  /** Where a `cachePoint` may go. */
  fields: ('system' | 'messages' | 'tools')[];
  /** Most tokens the cache holds for one request (Nova: 32K), when the source gives one. */
  maxCachedTokens?: number;
  source: string;
  readOn: string;
}

/** Which inference parameters (and whether a system prompt) the model takes. */
export interface AcceptedParameters {
  temperature: boolean;
  topP: boolean;
  /** False where the model rejects `temperature` and `topP` in the same call. */
  temperatureWithTopP: boolean;
  system: boolean;
}

/** How a model reasons: never, when asked, by default, or always (cannot be turned off). */
export type ReasoningBehaviour = 'none' | 'optional' | 'default' | 'always';

export interface ModelFamily {
  family: string;
  /** Regular expression (source) matched against the base model id. */
  match: string;
  contextWindow?: number;
  /** Largest `maxTokens` Bedrock accepts. */
  maxOutputTokens?: number;
  /** `maxTokens` sent when a conversation names none (reasoning models need room to answer). */
  defaultMaxTokens?: number;
  prices?: ModelPrices;
  /** Prompt caching; absent: not cache-capable. */
  caching?: CacheRules;
  parameters: AcceptedParameters;
  reasoning: ReasoningBehaviour;
  /** Per region; `"*"` holds every region not named. */
  lifecycle: Record<string, LifecycleEntry>;
  /** The model id suggested instead when this one is legacy or end-of-life. */
  replacement?: string;
  /** `required`: on-demand calls must use an inference-profile id (`us.<model>`). */
  inferenceProfile?: 'required' | 'optional' | 'none';
  /**
   * Price multiplier of geographic cross-region profiles (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `ca.`,
   * `us-gov.`) over the base id; `global.` profiles cost the base price. Absent: no markup.
   */
  geoProfileMarkup?: number;
  /** Model ids read in the sources that this row matches (any form); the tests check each. */
  examples?: string[];
  /** Where the row's facts were read, and when (ISO date or month). */
  source: string;
  readOn: string;
  /** What the sources did not say (facts left out of the row) and where they disagree. */
  notes?: string;
}

export interface ModelLifecycle extends LifecycleEntry {
  family: string;
  replacement?: string;
}

/** Geographic prefixes of cross-region inference profiles (`us.anthropic...`, `global.anthropic...`). */
const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\./;
/** The geographic (not global) profile prefixes, billed at {@link ModelFamily.geoProfileMarkup}. */
const GEO_PROFILE_PREFIX = /^(arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:inference-profile\/)?(us|eu|apac|jp|au|ca|us-gov)\./;

/**
 * The base model id of a model id, an inference-profile id (`us.<model>`) or an ARN of a foundation
 * model or system inference profile. An application-inference-profile ARN has no model in it and
 * comes back unchanged.
 */
export function baseModelId(modelId: string): string {
  let id = modelId.trim();
  const arn = /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(foundation-model|inference-profile)\/(.+)$/.exec(id);
  if (arn) id = arn[2]!;
  return id.replace(PROFILE_PREFIX, '');
}

interface CompiledFamily extends ModelFamily {
  re: RegExp;
}

export class ModelCatalog {
  private readonly rows: CompiledFamily[];

  constructor(
    families: readonly ModelFamily[],
    readonly origin: string,
  ) {
    this.rows = families.map((f) => ({ ...f, re: new RegExp(f.match) }));
  }

  /** Every row, in matching order. */
  families(): readonly ModelFamily[] {
    return this.rows;
  }

  /** The row for a model id (any form), or undefined when the catalogue does not know it. */
  lookup(modelId: string): ModelFamily | undefined {
    const base = baseModelId(modelId);
    return this.rows.find((r) => r.re.test(base));
  }

  /** The model's lifecycle in `region` (undefined: unknown model). */
  lifecycle(modelId: string, region: string): ModelLifecycle | undefined {
    const row = this.lookup(modelId);
    if (!row) return undefined;
    const entry = row.lifecycle[region] ?? row.lifecycle['*'] ?? { status: 'active' as const };
    return { ...entry, family: row.family, replacement: row.replacement };
  }

  outputCap(modelId: string): number | undefined {
    return this.lookup(modelId)?.maxOutputTokens;
  }

  /** The `maxTokens` to send when a caller names none: the row's default or `fallback`, lowered to the cap. */
  defaultMaxTokens(modelId: string, fallback: number): number {
    const row = this.lookup(modelId);
    const wanted = row?.defaultMaxTokens ?? fallback;
    return row?.maxOutputTokens ? Math.min(row.maxOutputTokens, wanted) : wanted;
  }

  /** Why `maxTokens` is too large for `modelId`, or undefined when it fits (or the model is unknown). */
  maxTokensProblem(modelId: string, maxTokens: number, field = 'maxTokens'): string | undefined {
    const row = this.lookup(modelId);
    if (!row?.maxOutputTokens || maxTokens <= row.maxOutputTokens) return undefined;
    return `${field} ${maxTokens} is above the output cap of ${modelId} (${row.family}): at most ${row.maxOutputTokens}`;
  }

  /** USD per 1,000 tokens for this id: the row's prices, times its geographic-profile markup for a `us.`/`eu.`... id. */
  prices(modelId: string): ModelPrices | undefined {
    const row = this.lookup(modelId);
    if (!row?.prices) return undefined;
    const k = row.geoProfileMarkup && GEO_PROFILE_PREFIX.test(modelId.trim()) ? row.geoProfileMarkup : 1;
    if (k === 1) return row.prices;
    const times = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * k * 1e12) / 1e12);
    const p: ModelPrices = { inputPer1k: times(row.prices.inputPer1k)!, outputPer1k: times(row.prices.outputPer1k)! };
    if (row.prices.cacheReadPer1k !== undefined) p.cacheReadPer1k = times(row.prices.cacheReadPer1k);
    if (row.prices.cacheWritePer1k !== undefined) p.cacheWritePer1k = times(row.prices.cacheWritePer1k);
    return p;
  }

  /**
   * The caching rules of `modelId` when caching lowers its cost: the row has {@link CacheRules}
   * and a cache-read price below its input price. Undefined otherwise (no checkpoint is sent).
   */
  cacheRules(modelId: string): CacheRules | undefined {
    const row = this.lookup(modelId);
    const p = row?.prices;
    if (!row?.caching || !p || p.cacheReadPer1k === undefined || p.cacheReadPer1k >= p.inputPer1k) return undefined;
    return row.caching;
  }

  /**
   * The suggested replacement of a legacy or end-of-life model, as a sentence fragment naming the id
   * (and that it needs an inference-profile id when its row says so), or undefined when the row has none.
   */
  replacementOf(modelId: string): string | undefined {
    const id = this.lookup(modelId)?.replacement;
    if (!id) return undefined;
    const needsProfile = this.lookup(id)?.inferenceProfile === 'required' && id === baseModelId(id);
    return needsProfile ? `${id} (through an inference profile, e.g. us.${id})` : id;
  }

  /** What the model accepts; a model the catalogue does not know is assumed to accept everything. */
  accepted(modelId: string): AcceptedParameters {
    return this.lookup(modelId)?.parameters ?? { temperature: true, topP: true, temperatureWithTopP: true, system: true };
  }
}

const LIFECYCLE = new Set(['active', 'legacy', 'end_of_life']);
const REASONING = new Set(['none', 'optional', 'default', 'always']);

/** Checks one file's rows; throws ConfigError naming `key` and the bad row. */
export function checkFamilies(raw: unknown, key: string): { families: ModelFamily[]; replace: boolean } {
  const o = raw as { families?: unknown; replace?: unknown } | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.families))
    throw new ConfigError(`${key} must hold an object with a "families" list`, key);
  const families = o.families.map((f: Partial<ModelFamily>, i: number) => {
    const where = `${key}: families[${i}]${f?.family ? ` (${f.family})` : ''}`;
    if (!f || typeof f !== 'object') throw new ConfigError(`${where} must be an object`, key);
    if (typeof f.family !== 'string' || !f.family) throw new ConfigError(`${where}: "family" must be a name`, key);
    if (typeof f.match !== 'string') throw new ConfigError(`${where}: "match" must be a regular expression`, key);
    try {
      new RegExp(f.match);
    } catch (err) {
      throw new ConfigError(`${where}: "match" is not a regular expression: ${(err as Error).message}`, key);
    }
    if (typeof f.source !== 'string' || typeof f.readOn !== 'string')
      throw new ConfigError(`${where}: every row says where ("source") and when ("readOn") its facts were read`, key);
    if (f.parameters !== undefined) {
      const pa = f.parameters as Partial<AcceptedParameters> | null;
      if (
        !pa ||
        typeof pa !== 'object' ||
        (['temperature', 'topP', 'temperatureWithTopP', 'system'] as const).some((k) => typeof pa[k] !== 'boolean')
      ) {
        throw new ConfigError(`${where}: "parameters" must give temperature, topP, temperatureWithTopP and system as true/false`, key);
      }
    }
    for (const [region, e] of Object.entries(f.lifecycle ?? {})) {
      if (!LIFECYCLE.has((e as LifecycleEntry)?.status))
        throw new ConfigError(`${where}: lifecycle["${region}"].status must be active, legacy or end_of_life`, key);
    }
    if (f.reasoning !== undefined && !REASONING.has(f.reasoning))
      throw new ConfigError(`${where}: "reasoning" must be none, optional, default or always`, key);
    for (const n of ['contextWindow', 'maxOutputTokens', 'defaultMaxTokens'] as const) {
      const v = f[n];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(`${where}: "${n}" must be a positive integer`, key);
    }
    if (f.prices !== undefined) {
      const pr = f.prices as Partial<ModelPrices> | null;
      const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
      if (
        !pr ||
        typeof pr !== 'object' ||
        !ok(pr.inputPer1k) ||
        !ok(pr.outputPer1k) ||
        (pr.cacheReadPer1k !== undefined && !ok(pr.cacheReadPer1k)) ||
        (pr.cacheWritePer1k !== undefined && !ok(pr.cacheWritePer1k))
      ) {
        throw new ConfigError(
          `${where}: "prices" must be {"inputPer1k": <USD ≥ 0>, "outputPer1k": <USD ≥ 0>, "cacheReadPer1k"?, "cacheWritePer1k"?}`,
          key,
        );
      }
    }
    if (f.caching !== undefined) {
      const c = f.caching as Partial<CacheRules> | null;
      const pos = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
      if (
        !c ||
        typeof c !== 'object' ||
        !pos(c.minTokensPerCheckpoint) ||
        !pos(c.maxCheckpoints) ||
        !Array.isArray(c.ttls) ||
        c.ttls.length === 0 ||
        c.ttls.some((t) => t !== '5m' && t !== '1h') ||
        !Array.isArray(c.fields) ||
        c.fields.some((x) => !['system', 'messages', 'tools'].includes(x)) ||
        (c.maxCachedTokens !== undefined && !pos(c.maxCachedTokens)) ||
        typeof c.source !== 'string' ||
        typeof c.readOn !== 'string'
      ) {
        throw new ConfigError(
          `${where}: "caching" must be {"minTokensPerCheckpoint": <int > 0>, "maxCheckpoints": <int > 0>, "ttls": ["5m"|"1h"…], "fields": ["system"|"messages"|"tools"…], "maxCachedTokens"?, "source", "readOn"}`,
          key,
        );
      }
    }
    if (f.geoProfileMarkup !== undefined && !(typeof f.geoProfileMarkup === 'number' && f.geoProfileMarkup >= 1))
      throw new ConfigError(`${where}: "geoProfileMarkup" must be a number ≥ 1`, key);
    if (f.inferenceProfile !== undefined && !['required', 'optional', 'none'].includes(f.inferenceProfile))
      throw new ConfigError(`${where}: "inferenceProfile" must be required, optional or none`, key);
    return {
      parameters: { temperature: true, topP: true, temperatureWithTopP: true, system: true },
      reasoning: 'none',
      lifecycle: { '*': { status: 'active' } },
      ...f,
    } as ModelFamily;
  });
  return { families, replace: o.replace === true };
}

export const SHIPPED_CATALOG = new ModelCatalog(checkFamilies(shipped, 'shared/model-catalog.json').families, 'shipped');

const loaded = new Map<string, ModelCatalog>();

/** The catalogue in force: MODEL_CATALOG_FILE's rows (read once per path) before the shipped ones. */
export function loadModelCatalog(file: string | undefined): ModelCatalog {
  if (!file) return SHIPPED_CATALOG;
  let catalog = loaded.get(file);
  if (!catalog) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`MODEL_CATALOG_FILE ${file} cannot be read: ${(err as Error).message}`, 'MODEL_CATALOG_FILE');
    }
    let raw: unknown;
    try {
      raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`MODEL_CATALOG_FILE ${file} does not parse: ${(err as Error).message}`, 'MODEL_CATALOG_FILE');
    }
    const own = checkFamilies(raw, 'MODEL_CATALOG_FILE');
    catalog = new ModelCatalog(own.replace ? own.families : [...own.families, ...SHIPPED_CATALOG.families()], file);
    loaded.set(file, catalog);
  }
  return catalog;
}
