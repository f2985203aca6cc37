/**
 * `POST /estimate`: the worst-case cost of running a set of seeds (cost/estimate.ts) with this
 * producer's defaults and price table, before anything is spent. `llmconv estimate` calls it.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { contextPolicyOf, contextReason, DEFAULT_CONTEXT_TOKENS, describeIssues } from '../../conversation/conversation-request';
import { LIMITS } from '../../shared/limits';
import type { EstimateView } from '../../api/http-contract';
import { estimateCost } from '../../cost/estimate';
import { loadPriceTable } from '../../cost/price-table';
import { localModelOf, type Config } from '../../shared/config';
import type { Logger } from '../../shared/logger';
import { checkModelLifecycle } from '../../conversation/model-admission';
import { ValidationError } from '../../shared/errors';
import { readJsonBody } from '../json-body';

const query = z
  .string()
  .max(LIMITS.initialQueryChars)
  .refine((s) => s.trim().length > 0, 'must not be empty');
const estimateSchema = z.strictObject({
  seeds: z
    .array(
      z.union([
        query,
        z.object({
          initialQuery: query,
          maxTurns: z.number().int().min(LIMITS.maxTurns.min).max(LIMITS.maxTurns.max).optional(),
          maxTokens: z.number().int().min(LIMITS.maxTokens.min).max(LIMITS.maxTokens.max).optional(),
        }),
      ]),
    )
    .min(1)
    .max(1_000_000),
  turns: z.number().int().min(LIMITS.maxTurns.min).max(LIMITS.maxTurns.max).optional(),
  maxTokens: z.number().int().min(LIMITS.maxTokens.min).max(LIMITS.maxTokens.max).optional(),
  cloudModel: z.string().min(1).max(256).optional(),
  localModel: z.string().min(1).max(256).optional(),
  contextTurns: z.number().int().min(LIMITS.contextTurns.min).max(LIMITS.contextTurns.max).optional(),
  /** false: as conversations with `cache: false` (the sliding window, no cache writes). */
  cache: z.boolean().optional(),
});

export function estimateRoute(config: Config, logger?: Logger): Router {
  const router = new Router();
  router.post('/estimate', async (ctx) => {
    const body = await readJsonBody(ctx, config.maxBodyBytes);
    const parsed = estimateSchema.safeParse(body);
    if (!parsed.success) {
      const { message, details } = describeIssues(parsed.error);
      throw new ValidationError(`invalid estimate request: ${message}`, details);
    }
    const b = parsed.data;
    const cloudModel = b.cloudModel ?? config.bedrockModelId;
    // As conversations decide it (conversation-request.ts): the `blocks` context and its caching
    // where the model caches and its minimum is within reach of half the budget (no system prompt here).
    const context = contextPolicyOf({ cache: b.cache, contextTurns: b.contextTurns }, cloudModel, config);
    const assumptions = {
      turns: b.turns ?? config.maxTurns,
      maxTokens: b.maxTokens ?? config.defaultMaxTokens,
      cloudModel: b.cloudModel ?? config.bedrockModelId,
      localModel: b.localModel ?? localModelOf(config),
      contextTurns: b.contextTurns ?? 3,
      cache:
        context.contextPolicy === 'blocks'
          ? `on: blocks context up to ${DEFAULT_CONTEXT_TOKENS} tokens; every cloud input token priced as a cache write (reads, cheaper, not counted)`
          : `off: ${contextReason({ ...context, ...(b.cache === false ? { cache: false as const } : {}), cloudModel })}`,
    };
    // An end-of-life model is refused here too (400 model_end_of_life); a Legacy one is warned.
    const warnings = checkModelLifecycle([assumptions.cloudModel], config, 'cloudModel', 'invalid estimate request');
    for (const w of warnings)
      logger?.warn({ cloudModel: assumptions.cloudModel, region: config.awsRegion }, `estimate for a Legacy model: ${w}`);
    const estimate = estimateCost({
      seeds: b.seeds,
      turns: assumptions.turns,
      maxTokens: assumptions.maxTokens,
      contextTurns: assumptions.contextTurns,
      models: { cloud: assumptions.cloudModel, local: assumptions.localModel },
      prices: loadPriceTable(config.pricesFile, config.modelCatalogFile),
      ...(context.contextPolicy === 'blocks' ? { cache: { contextTokens: DEFAULT_CONTEXT_TOKENS } } : {}),
    });
    const view: EstimateView = { ...estimate, ...(warnings.length ? { warnings } : {}), assumptions };
    ctx.body = view;
  });
  return router;
}
