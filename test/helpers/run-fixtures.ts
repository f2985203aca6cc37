/**
 * Run conversations written straight into Redis through the store's write path (create,
 * recordStep, setPendingStop/finish) with `settings.run` set, their ids added to the run's sorted
 * set (store/run-keys.ts) in admission order: what the run core leaves behind, without the LLM
 * pipeline. Used by the export tests and `npm run bench` (export phase).
 */
import type { Redis } from 'ioredis';
import type { CloudStep, ConversationSettings, LocalStep, StopReason, TerminalStatus } from '../../conversation/model';
import { DEFAULT_TEMPLATES, followUpPrompt, questionFor } from '../../conversation/turn-rules';
import type { ConversationStore } from '../../store/conversation-store';
import { runKeys } from '../../store/run-keys';

export const FIXTURE_CLOUD_MODEL = 'amazon.nova-micro-v1:0';
export const FIXTURE_LOCAL_MODEL = 'llama3.2';

export interface FixtureConversation {
  id: string;
  initialQuery?: string;
  /** Turns recorded (cloud and local each). Default 3. */
  turns?: number;
  status?: TerminalStatus | 'queued' | 'running';
  /** Default: max_turns for completed, provider_error for failed, cancelled, deadline_exceeded. */
  stopReason?: StopReason;
  /** The cloud answer of this turn is unusable (recorded with this Converse stop reason or blank) and ends the chain. */
  emptyAnswerAt?: { turn: number; stopReason: string; text?: string };
  /** The local follow-ups carry this thinking. */
  thinking?: string;
  systemPrompts?: ConversationSettings['systemPrompts'];
  templates?: ConversationSettings['templates'];
  /** The seed's meta; the run ref is left out entirely when `noRun`. */
  meta?: Record<string, unknown>;
  noRun?: boolean;
  /** Extra characters in every answer (to make a conversation heavy). */
  padding?: number;
}

const DEFAULT_REASON: Record<string, StopReason | undefined> = {
  completed: 'max_turns',
  failed: 'provider_error',
  cancelled: 'cancelled',
  timed_out: 'deadline_exceeded',
};

/** Writes one run conversation and ZADDs it to the run at `score`; returns its settings. */
export async function writeRunConversation(
  redis: Redis,
  store: ConversationStore,
  runId: string,
  c: FixtureConversation,
  score: number,
): Promise<ConversationSettings> {
  const turns = c.turns ?? 3;
  const settings: ConversationSettings = {
    initialQuery: c.initialQuery ?? `Seed question ${c.id}: why is the sky blue?`,
    outputFile: `conversation-${c.id}.csv`,
    maxTurns: Math.max(turns, 1),
    timeoutMinutes: 30,
    cloudModel: FIXTURE_CLOUD_MODEL,
    localModel: FIXTURE_LOCAL_MODEL,
    contextTurns: 2,
    templates: c.templates ?? { ...DEFAULT_TEMPLATES },
    systemPrompts: c.systemPrompts ?? {},
  };
  if (c.thinking) settings.think = true;
  if (!c.noRun) settings.run = { id: runId, seedHash: `seed-${c.id}`, ...(c.meta ? { meta: c.meta } : {}) };
  const { record } = await store.create(c.id, settings);
  const t0 = record!.createdAt;
  const pad = c.padding ? ` ${'x'.repeat(c.padding)}` : '';
  const done: { turn: number; cloud?: CloudStep; local?: LocalStep }[] = [];
  for (let k = 1; k <= turns; k++) {
    const question = questionFor(settings, done, k);
    const empty = c.emptyAnswerAt?.turn === k ? c.emptyAnswerAt : undefined;
    const cloud: CloudStep = {
      question,
      answer: empty ? (empty.text ?? '') : `Answer ${k} of ${c.id}.${pad}`,
      model: FIXTURE_CLOUD_MODEL,
      inputTokens: 10 + k,
      outputTokens: 20 + k,
      latencyMs: 100 + k,
      stopReason: empty ? empty.stopReason : 'end_turn',
      startedAt: t0 + 1000 * k,
      at: t0 + 1000 * k + 100,
    };
    await store.recordStep(record!, 'cloud', k, cloud);
    if (empty) {
      done.push({ turn: k, cloud });
      break;
    }
    const local: LocalStep = {
      prompt: followUpPrompt(settings, question, cloud.answer),
      followUp: `Follow-up ${k} of ${c.id}?`,
      model: FIXTURE_LOCAL_MODEL,
      inputTokens: 30 + k,
      outputTokens: 40 + k,
      latencyMs: 50 + k,
      stopReason: 'stop',
      at: t0 + 1000 * k + 500,
      ...(c.thinking ? { thinking: c.thinking } : {}),
    };
    await store.recordStep(record!, 'local', k, local);
    done.push({ turn: k, cloud, local });
  }
  const status = c.status ?? 'completed';
  if (status === 'running') await store.markRunning(c.id);
  else if (status !== 'queued') await store.finish(c.id, status, c.stopReason ?? DEFAULT_REASON[status]!);
  await redis.zadd(runKeys(store.shards.at(runId), runId).conversations, score, c.id);
  return settings;
}

/** Writes many run conversations, `concurrency` at a time, scored 1, 2, 3… in the given order. */
export async function writeRun(
  redis: Redis,
  store: ConversationStore,
  runId: string,
  convs: FixtureConversation[],
  concurrency = 64,
): Promise<void> {
  for (let i = 0; i < convs.length; i += concurrency) {
    await Promise.all(convs.slice(i, i + concurrency).map((c, j) => writeRunConversation(redis, store, runId, c, i + j + 1)));
  }
}
