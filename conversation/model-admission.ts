/**
 * What the producer checks about the cloud models of a conversation or run before accepting it,
 * from the model catalogue (shared/model-catalog.ts) in force for this process:
 *
 * - a model that is end-of-life in `AWS_REGION` is refused (400 `model_end_of_life`, naming the
 *   model, its end-of-life date and the catalogue's replacement): Bedrock would answer every call
 *   with ResourceNotFoundException "This model version has reached the end of its life";
 * - a Legacy model is accepted with a warning (Bedrock may refuse it to an account that has not
 *   used it for 15-30 days: "Access denied. This Model is marked by provider as Legacy ...");
 * - a USD budget on a cloud model with no price (neither the catalogue nor PRICES_FILE) is refused
 *   (400 `price_unknown`): every call would otherwise be refused later by the budget gate.
 *
 * A model the catalogue does not know passes (Bedrock has the last word).
 */
import type { Config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { loadModelCatalog } from '../shared/model-catalog';

export type ModelAdmissionConfig = Pick<Config, 'awsRegion' | 'modelCatalogFile'>;

/** Whether a cloud model has a price; the producer passes cost/price-table's (PRICES_FILE, then the catalogue). */
export type PricedFn = (model: string) => boolean;

/** What {@link parseConversationRequest} checks at submission, and where it puts the warnings. */
export interface ModelChecks {
  /** Legacy-model warnings are appended here. */
  warnings: string[];
  /** Default: the catalogue's prices only. */
  priced?: PricedFn;
}

/** The catalogue's own answer (no PRICES_FILE). */
export const catalogPriced =
  (config: Pick<Config, 'modelCatalogFile'>): PricedFn =>
  (model) =>
    loadModelCatalog(config.modelCatalogFile).prices(model) !== undefined;

/** A sentence naming what replaces `model`, or that the catalogue names none. */
function replacementSentence(model: string, config: ModelAdmissionConfig): string {
  const r = loadModelCatalog(config.modelCatalogFile).replacementOf(model);
  return r ? `use ${r} instead` : 'the model catalogue names no replacement (choose an active model)';
}

/**
 * Checks `models` (the primary and its fallbacks) for `field`; throws ValidationError
 * `model_end_of_life` for the first end-of-life one and returns one warning per Legacy one.
 */
export function checkModelLifecycle(
  models: readonly string[],
  config: ModelAdmissionConfig,
  field = 'cloudModel',
  what = 'invalid conversation request',
): string[] {
  const catalog = loadModelCatalog(config.modelCatalogFile);
  const warnings: string[] = [];
  models.forEach((model, i) => {
    const where = models.length > 1 ? `${field}[${i}]` : field;
    const life = catalog.lifecycle(model, config.awsRegion);
    if (life?.status === 'end_of_life') {
      const when = life.endOfLifeDate ? `reached end of life on ${life.endOfLifeDate}` : 'is end-of-life';
      const problem = `${model} (${life.family}) ${when} in ${config.awsRegion}: Bedrock refuses every call to it; ${replacementSentence(model, config)} (model catalogue; MODEL_CATALOG_FILE overrides it)`;
      throw new ValidationError(`${what}: ${where}: ${problem}`, [{ field: where, problem }], 400, 'model_end_of_life');
    }
    if (life?.status === 'legacy') {
      const eol = life.endOfLifeDate ? `, end of life on ${life.endOfLifeDate}` : '';
      warnings.push(
        `${where}: ${model} (${life.family}) is Legacy in ${config.awsRegion}${eol}: Bedrock may refuse it to an account that has not used it recently; ${replacementSentence(model, config)}`,
      );
    }
  });
  return warnings;
}

/**
 * Throws ValidationError `price_unknown` when a USD budget applies to a cloud model that has no
 * price; `field` names where the budget came from (`budget.usd`, `runBudget.usd`).
 */
export function checkBudgetPriced(
  models: readonly string[],
  usd: number | undefined,
  priced: PricedFn,
  field = 'budget.usd',
  what = 'invalid conversation request',
): void {
  if (usd === undefined) return;
  const unpriced = models.filter((m) => !priced(m));
  if (unpriced.length === 0) return;
  const problem =
    `a USD budget needs a price for every cloud model, and ${unpriced.join(', ')} has none in the model catalogue: ` +
    'add its prices (inputPer1k, outputPer1k) in MODEL_CATALOG_FILE, or give the budget in tokens';
  throw new ValidationError(`${what}: ${field}: ${problem}`, [{ field, problem }], 400, 'price_unknown');
}
