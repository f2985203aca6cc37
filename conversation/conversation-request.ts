/**
 * The `POST /conversation` body: schema-checked (unknown keys rejected), defaults applied from
 * config, names kept from the seed (`initialQuery`, `outputFile`).
 */
import { z } from 'zod';
import { localModelOf, type Config } from '../shared/config';
import type { ConversationSettings } from './model';
import { ValidationError } from '../shared/errors';
import { loadModelCatalog } from '../shared/model-catalog';
import { catalogPriced, checkBudgetPriced, checkModelLifecycle, type ModelChecks } from './model-admission';
import { safeOutputName } from '../transcript/output-file';
import { DEFAULT_TEMPLATES, literalPartOf, templateProblem } from './templates';
import { DEFAULT_REPETITION_THRESHOLD } from './quality-rules';
import { DEFAULT_CONTEXT_TURNS, LIMITS } from '../shared/limits';
import { DEFAULT_CONTEXT_TOKENS } from './turn-rules';
import { describeIssues } from './plain-issues';

const modelId = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._:/@+-]+$/, 'model ids use letters, digits and . _ : / @ + -');
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** A template's placeholders: known names only, each a bounded number of times (templates.ts). */
const placeholdersOk = (name: 'followUp' | 'nextQuery') => (s: string, ctx: z.RefinementCtx) => {
  const problem = templateProblem(name, s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

const personaPart = text(500)
  .refine((s) => s.trim().length > 0, 'must not be empty')
  .optional();

/** Who the local side is: a description, or its parts (conversation/goal-rules.ts). */
const personaSchema = z.union([
  text(2000).refine((s) => s.trim().length > 0, 'must not be empty'),
  z
    .strictObject({ role: personaPart, expertise: personaPart, style: personaPart, language: personaPart })
    .refine((p) => Object.values(p).some((v) => v !== undefined), 'give at least one of role, expertise, style, language'),
]);

export const conversationRequestSchema = z.strictObject({
  initialQuery: text(LIMITS.initialQueryChars).refine((s) => s.trim().length > 0, 'must not be empty'),
  outputFile: z.string().max(512).optional(),
  maxTurns: z.number().int().min(LIMITS.maxTurns.min).max(LIMITS.maxTurns.max).optional(),
  timeoutMinutes: z.number().positive().max(LIMITS.timeoutMinutes.max).optional(),
  /** One model id, or a list: the first is asked, the others are its fallbacks in order. */
  cloudModel: z.union([modelId, z.array(modelId).min(1, 'must name at least one model').max(5, 'at most 5 models')]).optional(),
  localModel: modelId.optional(),
  temperature: z.number().min(LIMITS.temperature.min).max(LIMITS.temperature.max).optional(),
  // The cloud model's own cap (the model catalogue) is checked after parsing.
  maxTokens: z.number().int().min(LIMITS.maxTokens.min).max(LIMITS.maxTokens.max).optional(),
  stopPhrase: text(200)
    .refine((s) => s.trim().length > 0, 'must not be empty')
    .optional(),
  contextTurns: z.number().int().min(LIMITS.contextTurns.min).max(LIMITS.contextTurns.max).optional(),
  /** `sliding`: the last contextTurns exchanges; `blocks`: the whole history up to contextTokens, the oldest contextTurns dropped at once (cache-friendly). */
  contextPolicy: z.enum(['sliding', 'blocks']).optional(),
  contextTokens: z.number().int().min(256).max(1_000_000).optional(),
  /** Let a thinking local model (qwen3, deepseek-r1, gpt-oss …) reason before its follow-up; default off. */
  think: z.boolean().optional(),
  /** Bedrock prompt caching (cachePoint blocks) where the catalogue says it lowers the cost; default on, `false` turns it off. */
  cache: z.boolean().optional(),
  templates: z
    .strictObject({
      followUp: text(4000)
        .refine((s) => s.includes('{{answer}}'), 'must contain {{answer}}')
        .superRefine(placeholdersOk('followUp'))
        .optional(),
      nextQuery: text(4000)
        .refine((s) => s.includes('{{followUp}}'), 'must contain {{followUp}}')
        .superRefine(placeholdersOk('nextQuery'))
        .optional(),
    })
    .optional(),
  systemPrompts: z.strictObject({ cloud: text(8000).optional(), local: text(8000).optional() }).optional(),
  /** Once completed, fork the conversation this many times at `branchAt` (docs/branches.md). */
  branches: z.number().int().min(LIMITS.branches.min).max(LIMITS.branches.max).optional(),
  branchAt: z.number().int().min(1).max(LIMITS.maxTurns.max).optional(),
  /** A cap on what the conversation may spend (README, "Budgets"). */
  budget: z
    .strictObject({ usd: z.number().positive().max(1_000_000).optional(), tokens: z.number().int().positive().max(1e12).optional() })
    .refine((b) => b.usd !== undefined || b.tokens !== undefined, 'give "usd" and/or "tokens"')
    .optional(),
  /** Who asks (the local side): a string or {role, expertise, style, language} (docs/personas.md). */
  persona: personaSchema.optional(),
  /** What the asker wants out of the conversation; `stop.goalMet` ends it once the judge role says it is met. */
  goal: text(2000)
    .refine((s) => s.trim().length > 0, 'must not be empty')
    .optional(),
  stop: z
    .strictObject({
      goalMet: z
        .strictObject({
          every: z.number().int().min(1).max(LIMITS.maxTurns.max).optional(),
          side: z.enum(['cloud', 'local']).optional(),
          model: modelId.optional(),
        })
        .optional(),
    })
    .optional(),
  /** Quality gates (README, "Quality gates"); each is off unless given. */
  quality: z
    .strictObject({
      repetition: z.strictObject({ threshold: z.number().gt(0).max(1).optional() }).optional(),
      degenerate: z
        .union([
          z.boolean(),
          z.strictObject({
            refusals: z
              .array(text(200).refine((s) => s.trim().length > 0, 'must not be empty'))
              .min(1)
              .max(100),
          }),
        ])
        .optional(),
      maxTokensTotal: z.number().int().positive().optional(),
      /** A reply cut at its token cap: `stop` ends the conversation (`truncated`), `continue` (default) goes on. */
      truncated: z.enum(['stop', 'continue']).optional(),
    })
    .optional(),
});

export type ConversationRequest = z.infer<typeof conversationRequestSchema>;

/** Default number of earlier exchanges each model sees (shared/limits.ts). */
export { DEFAULT_CONTEXT_TURNS };

export { DEFAULT_CONTEXT_TOKENS };

/** zod's issues in plain words (conversation/plain-issues.ts). */
export { describeIssues };

/**
 * Validates a parsed JSON body and applies defaults; throws ValidationError naming the fields.
 * With `checks` (at submission) the cloud models are also checked against the model catalogue
 * (conversation/model-admission.ts): end-of-life refused, Legacy warned, a USD budget on an
 * unpriced model refused.
 */
export function parseConversationRequest(
  body: unknown,
  config: Config,
  conversationId: string,
  checks?: ModelChecks,
): ConversationSettings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('body must be a JSON object with at least "initialQuery"');
  }
  const parsed = conversationRequestSchema.safeParse(body);
  if (!parsed.success) {
    const { message, details } = describeIssues(parsed.error);
    throw new ValidationError(`invalid conversation request: ${message}`, details);
  }
  const b = parsed.data;
  const models = b.cloudModel === undefined ? [config.bedrockModelId] : Array.isArray(b.cloudModel) ? b.cloudModel : [b.cloudModel];
  const cloudModel = models[0]!;
  const cloudFallbacks = models.slice(1);
  // What is known of the prompts now: the first question, and what each template always adds.
  const tooLong: { field: string; problem: string }[] = [];
  if (b.initialQuery.length > config.promptMaxChars) {
    tooLong.push({
      field: 'initialQuery',
      problem: `is ${b.initialQuery.length} characters, over the prompt limit of ${config.promptMaxChars} (PROMPT_MAX_CHARS)`,
    });
  }
  for (const name of ['followUp', 'nextQuery'] as const) {
    const literal = b.templates?.[name] === undefined ? 0 : literalPartOf(b.templates[name]!).length;
    if (literal > config.promptMaxChars)
      tooLong.push({
        field: `templates.${name}`,
        problem: `adds ${literal} characters to every prompt, over the prompt limit of ${config.promptMaxChars} (PROMPT_MAX_CHARS)`,
      });
  }
  if (b.stop?.goalMet && b.goal === undefined) {
    tooLong.push({ field: 'stop.goalMet', problem: 'needs a "goal" to check (give the seed or the run a goal)' });
  }
  if (tooLong.length)
    throw new ValidationError(`invalid conversation request: ${tooLong.map((d) => `${d.field}: ${d.problem}`).join('; ')}`, tooLong);
  const overCap =
    b.maxTokens === undefined ? undefined : loadModelCatalog(config.modelCatalogFile).maxTokensProblem(cloudModel, b.maxTokens);
  if (overCap) {
    throw new ValidationError(`invalid conversation request: ${overCap}`, [{ field: 'maxTokens', problem: overCap }]);
  }
  const maxTurns = b.maxTurns ?? config.maxTurns;
  if (b.branchAt !== undefined && (b.branches === undefined || b.branchAt > maxTurns)) {
    const problem =
      b.branches === undefined
        ? 'needs "branches" (how many forks to make at that turn)'
        : `${b.branchAt} is past maxTurns (${maxTurns}): a branch asks at least turn branchAt`;
    throw new ValidationError(`invalid conversation request: branchAt: ${problem}`, [{ field: 'branchAt', problem }]);
  }
  if (checks) {
    checks.warnings.push(...checkModelLifecycle(models, config));
    checkBudgetPriced(models, b.budget?.usd, checks.priced ?? catalogPriced(config));
  }
  return {
    initialQuery: b.initialQuery,
    outputFile: safeOutputName(b.outputFile, conversationId),
    maxTurns: b.maxTurns ?? config.maxTurns,
    timeoutMinutes: b.timeoutMinutes ?? config.conversationTimeoutMinutes,
    cloudModel,
    ...(cloudFallbacks.length ? { cloudFallbacks } : {}),
    localModel: b.localModel ?? localModelOf(config),
    temperature: b.temperature,
    maxTokens: b.maxTokens,
    stopPhrase: b.stopPhrase,
    contextTurns: b.contextTurns ?? DEFAULT_CONTEXT_TURNS,
    ...contextPolicyOf(b, cloudModel, config),
    ...(b.think ? { think: true } : {}),
    ...(b.cache === false ? { cache: false as const } : {}),
    templates: {
      followUp: b.templates?.followUp ?? DEFAULT_TEMPLATES.followUp,
      nextQuery: b.templates?.nextQuery ?? DEFAULT_TEMPLATES.nextQuery,
    },
    systemPrompts: { cloud: b.systemPrompts?.cloud, local: b.systemPrompts?.local },
    ...(b.budget ? { budget: b.budget } : {}),
    ...(b.quality ? { quality: qualityOf(b.quality) } : {}),
    ...(b.branches !== undefined ? { branches: b.branches } : {}),
    ...(b.branchAt !== undefined ? { branchAt: b.branchAt } : {}),
    ...(b.persona !== undefined ? { persona: b.persona } : {}),
    ...(b.goal !== undefined ? { goal: b.goal } : {}),
    ...(b.stop?.goalMet
      ? {
          stop: {
            goalMet: {
              every: b.stop.goalMet.every ?? 1,
              side: b.stop.goalMet.side ?? 'cloud',
              ...(b.stop.goalMet.model ? { model: b.stop.goalMet.model } : {}),
            },
          },
        }
      : {}),
  };
}

/** The quality settings with the repetition threshold defaulted; gates given as false are left out. */
function qualityOf(q: NonNullable<ConversationRequest['quality']>): NonNullable<ConversationSettings['quality']> {
  const out: NonNullable<ConversationSettings['quality']> = {};
  if (q.repetition) out.repetition = { threshold: q.repetition.threshold ?? DEFAULT_REPETITION_THRESHOLD };
  if (q.degenerate) out.degenerate = q.degenerate;
  if (q.maxTokensTotal !== undefined) out.maxTokensTotal = q.maxTokensTotal;
  if (q.truncated === 'stop') out.truncated = 'stop';
  return out;
}

export const generateRequestSchema = z.strictObject({
  inputText: text(100_000).refine((s) => s.trim().length > 0, 'must not be empty'),
  temperature: z.number().min(LIMITS.temperature.min).max(LIMITS.temperature.max).optional(),
  maxTokens: z.number().int().min(LIMITS.maxTokens.min).max(LIMITS.maxTokens.max).optional(),
});

/**
 * Tokens as the cache checkpoints count them (bedrock/cache-points.ts, estimated low: UTF-8 bytes
 * / 6), so the rule below never expects a checkpoint the client would not place.
 */
const checkpointTokens = (bytes: number): number => Math.floor(bytes / 6);

/**
 * The context policy and why (issue 24): as asked (`contextPolicy`); else the sliding window when
 * caching is off, `contextTurns` is given or the cloud model is not cache-capable; else `blocks`
 * only where its longer history can be cached: the model's minimum per checkpoint must be at most
 * the system prompt plus half the `blocks` budget (`contextTokens`, its 4 bytes a token counted
 * as the checkpoints count them). Below that the checkpoint is reached late or never, and the longer
 * history is paid uncached (Claude Haiku 4.5, 4,096 tokens: ten turns of the bench's size cost 21 %
 * more than the sliding window, BENCHMARKS.md). The rule knows nothing of answer lengths: it uses
 * only what the request says, so the same request always gets the same policy.
 */
export function contextPolicyOf(
  b: Pick<ConversationRequest, 'cache' | 'contextTurns' | 'contextPolicy' | 'contextTokens' | 'systemPrompts'>,
  cloudModel: string,
  config: Config,
): Pick<ConversationSettings, 'contextPolicy' | 'contextTokens' | 'contextWhy'> {
  const contextTokens = b.contextTokens ?? DEFAULT_CONTEXT_TOKENS;
  if (b.contextPolicy === 'blocks') return { contextPolicy: 'blocks', contextTokens, contextWhy: 'asked' };
  if (b.contextPolicy === 'sliding') return { contextPolicy: 'sliding' };
  if (b.cache === false) return {};
  if (b.contextTurns !== undefined) return { contextWhy: 'turns' };
  const rules = loadModelCatalog(config.modelCatalogFile).cacheRules(cloudModel);
  if (!rules) return { contextWhy: 'model' };
  const system = checkpointTokens(Buffer.byteLength(b.systemPrompts?.cloud ?? '', 'utf8'));
  const history = checkpointTokens((4 * contextTokens) / 2);
  if (system + history < rules.minTokensPerCheckpoint) return { contextWhy: `below:${system}+${history}<${rules.minTokensPerCheckpoint}` };
  return { contextPolicy: 'blocks', contextTokens };
}

/**
 * Why a conversation has its context policy, in words (its view, POST /estimate), from its
 * settings: the short `contextWhy` code {@link contextPolicyOf} kept (absent where the settings
 * say it: asked `sliding`, `cache: false`, the default `blocks`; and on records made before it).
 */
export function contextReason(s: Pick<ConversationSettings, 'contextPolicy' | 'contextWhy' | 'cache' | 'cloudModel'>): string {
  const why = s.contextWhy ?? '';
  const sliding = (reason: string) => `sliding window of contextTurns: ${reason}`;
  if (s.contextPolicy === 'sliding' || why === 'asked') return 'asked (contextPolicy)';
  if (s.contextPolicy === 'blocks') {
    return "blocks, the default where caching applies: the system prompt plus half the contextTokens budget reaches the model's minimum tokens per cache checkpoint";
  }
  if (s.cache === false) return sliding('caching is off (cache: false)');
  if (why === 'turns') return sliding('contextTurns given');
  if (why === 'model') return sliding(`${s.cloudModel} is not cache-capable in the model catalogue`);
  const below = /^below:(\d+)\+(\d+)<(\d+)$/.exec(why);
  if (below) {
    return sliding(
      `the system prompt (about ${below[1]} tokens) plus half the contextTokens budget (about ${below[2]}) is below ${s.cloudModel}'s minimum of ${below[3]} tokens per cache checkpoint, so the longer history of "blocks" would mostly go uncached; ask "contextPolicy": "blocks" (with a larger contextTokens) to cache anyway`,
    );
  }
  return sliding('the default');
}
