/**
 * The judge step (role `judge`, README "Judge"): score a finished conversation against the rubric
 * (JUDGE_RUBRIC_FILE) with the rubric's model through the same providers as the conversation, and
 * the same budgets (the call is reserved and settled like a turn's). The answer must hold a score
 * for every criterion within the scale; an answer that does not is asked again, up to JOB_ATTEMPTS
 * calls in all (provider errors that may pass count too), after which the conversation is stored
 * as unscored with the reason, never with a guessed score. The job itself never fails the
 * conversation: it is already finished.
 */
import type { Job, Processor } from 'bullmq';
import { isTerminal } from '../conversation/model';
import { judgeCall, loadRubric, parseScores, type Rubric } from '../judge/rubric';
import { abortScope } from '../providers/abort-scope';
import type { JudgeJobData, JudgeResult } from '../queue/job-types';
import { errorMessage, ProviderError } from '../shared/errors';
import type { JudgeStore } from '../store/judge-store';
import { jobLogFields, type PipelineDeps } from './step-lifecycle';

/** Output cap of a judging call: the scores JSON and a sentence around it. */
export const JUDGE_MAX_TOKENS = 512;

/** The judge queue's processor; `judges` stores the results. */
export function createJudgeProcessor(
  deps: PipelineDeps,
  judges: JudgeStore,
  rubricOverride?: Rubric,
): Processor<JudgeJobData, JudgeResult, 'judge'> {
  const { store, config, logger } = deps;
  let rubric = rubricOverride;

  return async function processJudge(
    job: Job<JudgeJobData, JudgeResult, 'judge'>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<JudgeResult> {
    const id = job.data.conversationId;
    const log = logger.child(jobLogFields(job));
    if (!rubric && !config.judgeRubricFile) return 'skipped';
    rubric ??= loadRubric(config.judgeRubricFile!);
    const loaded = await store.getConversation(id);
    if (!loaded || !isTerminal(loaded.record.status)) return 'skipped';
    const { record, turns } = loaded;
    // The archived row gets the judgement too (the same upsert; the judgement's key follows the record out of Redis).
    const rearchive = async () => {
      if (!deps.archive || !deps.store.archiving) return;
      const judgement = await judges.get(id);
      await deps.archive.write({ record, turns, ...(judgement ? { judgement } : {}) });
      await deps.store.archived(id, [judges.keyOf(id)]);
    };
    const side = rubric.side;
    const model = rubric.model ?? (side === 'cloud' ? record.settings.cloudModel : record.settings.localModel);
    const provider = side === 'cloud' ? deps.cloud : deps.local;
    // The rubric's stable part as the system prompt: the cloud client caches it across conversations.
    const { system, prompt } = judgeCall(rubric, record.settings.initialQuery, turns);
    const attempts = Math.max(1, config.jobAttempts);
    // The judge's budget is the conversation's: reserve against a record that is still "running".
    const budgetRecord = { ...record, settings: { ...record.settings, maxTokens: JUDGE_MAX_TOKENS } };
    let lastProblem = '';
    let made = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // `cache: false` on the conversation (or its run) turns the rubric's checkpoint off too.
      const noCache = record.settings.cache === false ? { cache: false as const } : {};
      const call = { prompt, system, model, maxTokens: JUDGE_MAX_TOKENS, temperature: 0, conversationId: id, turn: 0, ...noCache };
      const gate = deps.budget ? await deps.budget.reserve(job, budgetRecord, side, call) : { ok: true as const };
      if (!gate.ok) {
        lastProblem = `budget: ${gate.message}`;
        break;
      }
      made = attempt;
      const timeoutMs = side === 'cloud' ? config.apiGatewayTimeoutMs : config.ollamaTimeoutMs;
      const scope = abortScope([signal], timeoutMs);
      try {
        const reply = await provider.generate({ ...call, signal: scope.signal, timeoutMs });
        await gate.held?.settle(reply);
        // The rubric read from / written to the prompt cache, in /metrics like a turn's (cache_read, cache_write).
        const cache = { readTokens: reply.cacheReadInputTokens, writeTokens: reply.cacheWriteInputTokens };
        deps.hooks?.onCall?.(side, reply.model, reply.latencyMs, reply.inputTokens, reply.outputTokens, cache);
        const scores = parseScores(reply.text, rubric);
        if (scores) {
          await judges.save(
            id,
            { status: 'scored', scores, model: reply.model || model, attempts: attempt, at: Date.now() },
            config.retentionSeconds,
            record.settings.run?.id,
          );
          log.info({ scores, attempt }, 'conversation judged');
          await rearchive();
          return 'scored';
        }
        lastProblem = `the judge's answer has no score for every criterion within ${rubric.scale.min}-${rubric.scale.max}: ${reply.text.slice(0, 200)}`;
        log.warn({ attempt, answer: reply.text.slice(0, 200) }, 'judge answer unparseable; asking again');
      } catch (err) {
        await gate.held?.fail(err);
        lastProblem = errorMessage(err);
        if (signal?.aborted) throw err;
        if (err instanceof ProviderError && !err.retryable) break;
        log.warn({ attempt, err: lastProblem }, 'judge call failed; trying again');
        await new Promise((r) => setTimeout(r, config.backoffDelayMs * 2 ** (attempt - 1)));
      } finally {
        scope.dispose();
      }
    }
    await judges.save(
      id,
      { status: 'unscored', model, attempts: made, error: lastProblem, at: Date.now() },
      config.retentionSeconds,
      record.settings.run?.id,
    );
    log.warn({ reason: lastProblem }, 'conversation left unscored');
    await rearchive();
    return 'unscored';
  };
}
