/**
 * What a model call costs: the price of a model id (USD per 1,000 input and output tokens) from
 * the override file (PRICES_FILE) first, then the model catalogue (shared/model-catalog.ts, with
 * MODEL_CATALOG_FILE: the way to change prices) for cloud models, then the local figure for local
 * models (0 unless the file sets `local`). A model neither knows has no price: its cost is `null`
 * ("unknown"), never guessed.
 *
 * PRICES_FILE (JSON):
 *   { "models": { "<model id>": { "inputPer1k": 0.003, "outputPer1k": 0.015 } },
 *     "local":  { "inputPer1k": 0, "outputPer1k": 0 } }
 * A model id in `models` may be a full id, an inference-profile id or a base id; ids are compared
 * after reducing them to the base model ({@link baseModelId}).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/errors';
import { baseModelId, loadModelCatalog, SHIPPED_CATALOG, type ModelCatalog } from '../shared/model-catalog';

export interface ModelPrice {
  inputPer1k: number;
  outputPer1k: number;
  /** USD per 1,000 input tokens read from Bedrock's prompt cache (catalogue only). */
  cacheReadPer1k?: number;
  /** USD per 1,000 input tokens written to it; absent: billed as input (no premium). */
  cacheWritePer1k?: number;
}

/** Input tokens read from and written to the prompt cache (Converse `cacheReadInputTokens`, `cacheWriteInputTokens`), not counted in `inputTokens`. */
export interface CacheTokens {
  readTokens?: number;
  writeTokens?: number;
}

export type PriceSide = 'cloud' | 'local';

/** The prices in force: the file's overrides, the local figure and the catalogue for the rest. */
export interface PriceTable {
  models: ReadonlyMap<string, ModelPrice>;
  local: ModelPrice;
  /** Cloud prices not overridden come from here (the shipped catalogue when absent). */
  catalog?: ModelCatalog;
}

/** The shipped catalogue only; local models at 0. */
export const DEFAULT_PRICES: PriceTable = { models: new Map(), local: { inputPer1k: 0, outputPer1k: 0 }, catalog: SHIPPED_CATALOG };

function checkPrice(v: unknown, where: string): ModelPrice {
  const p = v as Partial<ModelPrice> | null;
  const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!p || typeof p !== 'object' || !ok(p.inputPer1k) || !ok(p.outputPer1k)) {
    throw new ConfigError(`PRICES_FILE: ${where} must be {"inputPer1k": <number ≥ 0>, "outputPer1k": <number ≥ 0>}`, 'PRICES_FILE');
  }
  return { inputPer1k: p.inputPer1k!, outputPer1k: p.outputPer1k! };
}

/** Parses the override file's JSON text; throws ConfigError naming PRICES_FILE and the bad entry. */
export function parsePriceFile(text: string): PriceTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`PRICES_FILE is not valid JSON: ${(err as Error).message}`, 'PRICES_FILE');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('PRICES_FILE must hold a JSON object with "models" and/or "local"', 'PRICES_FILE');
  const o = raw as { models?: Record<string, unknown>; local?: unknown };
  const unknownKeys = Object.keys(o).filter((k) => k !== 'models' && k !== 'local');
  if (unknownKeys.length)
    throw new ConfigError(`PRICES_FILE: unknown key(s) ${unknownKeys.join(', ')} (expected "models", "local")`, 'PRICES_FILE');
  const models = new Map<string, ModelPrice>();
  for (const [id, p] of Object.entries(o.models ?? {})) models.set(baseModelId(id), checkPrice(p, `models["${id}"]`));
  return { models, local: o.local === undefined ? DEFAULT_PRICES.local : checkPrice(o.local, 'local') };
}

const loaded = new Map<string, PriceTable>();

/**
 * The price table for PRICES_FILE and MODEL_CATALOG_FILE (each read once per path), or the
 * defaults when both are unset.
 */
export function loadPriceTable(pricesFile: string | undefined, modelCatalogFile?: string): PriceTable {
  const catalog = loadModelCatalog(modelCatalogFile);
  if (!pricesFile) return catalog === SHIPPED_CATALOG ? DEFAULT_PRICES : withCatalog(DEFAULT_PRICES, catalog);
  let table = loaded.get(pricesFile);
  if (!table) {
    let text: string;
    try {
      text = readFileSync(pricesFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`PRICES_FILE ${pricesFile} cannot be read: ${(err as Error).message}`, 'PRICES_FILE');
    }
    table = parsePriceFile(text);
    loaded.set(pricesFile, table);
  }
  return catalog === SHIPPED_CATALOG ? table : withCatalog(table, catalog);
}

const withCatalogs = new WeakMap<PriceTable, Map<ModelCatalog, PriceTable>>();
/** `table` pricing the rest from `catalog` (one object per pair, so callers may compare tables). */
function withCatalog(table: PriceTable, catalog: ModelCatalog): PriceTable {
  let byCatalog = withCatalogs.get(table);
  if (!byCatalog) withCatalogs.set(table, (byCatalog = new Map()));
  let t = byCatalog.get(catalog);
  if (!t) byCatalog.set(catalog, (t = { ...table, catalog }));
  return t;
}

/** The price of `model` on `side`, or undefined when unknown. */
export function priceOf(model: string, side: PriceSide, table: PriceTable): ModelPrice | undefined {
  const base = baseModelId(model);
  const own = table.models.get(base);
  if (own) return own;
  if (side === 'local') return table.local;
  const p = (table.catalog ?? SHIPPED_CATALOG).prices(model);
  return p
    ? {
        inputPer1k: p.inputPer1k,
        outputPer1k: p.outputPer1k,
        ...(p.cacheReadPer1k !== undefined ? { cacheReadPer1k: p.cacheReadPer1k } : {}),
        ...(p.cacheWritePer1k !== undefined ? { cacheWritePer1k: p.cacheWritePer1k } : {}),
      }
    : undefined;
}

/**
 * USD of one call, or null when the model has no price. Rounded to 1e-9 USD. `inputTokens` are
 * the uncached ones (Converse counts cache reads and writes apart, in `cache`): reads at the
 * cache-read price, writes at the cache-write price (the input price when the catalogue has none).
 */
export function callCostUsd(
  model: string,
  side: PriceSide,
  inputTokens: number,
  outputTokens: number,
  table: PriceTable,
  cache?: CacheTokens,
): number | null {
  const p = priceOf(model, side, table);
  if (!p) return null;
  const read = (cache?.readTokens ?? 0) * (p.cacheReadPer1k ?? p.inputPer1k);
  const write = (cache?.writeTokens ?? 0) * (p.cacheWritePer1k ?? p.inputPer1k);
  return roundUsd((inputTokens * p.inputPer1k + outputTokens * p.outputPer1k + read + write) / 1000);
}

/**
 * The factor a worst-case input reservation takes for `model`: the cache-write price over the
 * input price when writing to the cache costs more (every input token may be written), else 1.
 */
export function cacheWritePremium(model: string, side: PriceSide, table: PriceTable): number {
  const p = priceOf(model, side, table);
  if (!p?.cacheWritePer1k || p.inputPer1k <= 0) return 1;
  return Math.max(1, p.cacheWritePer1k / p.inputPer1k);
}

/** Rounds to nano-dollars, so sums of many calls stay exact enough to compare. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e9) / 1e9;

/** Whether a cloud model has a price under `config`'s PRICES_FILE and MODEL_CATALOG_FILE (for the producer's budget check). */
export function cloudPriced(config: { pricesFile?: string; modelCatalogFile?: string }): (model: string) => boolean {
  return (model) => priceOf(model, 'cloud', loadPriceTable(config.pricesFile, config.modelCatalogFile)) !== undefined;
}
