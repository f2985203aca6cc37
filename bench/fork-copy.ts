/**
 * `fork_round_trips_per_shared_turn`: what forking a finished 10-turn conversation at turn 8 costs
 * in Redis round trips, per shared turn (7 of them): the parent read with its turns
 * (`ConversationStore.getConversation`, load.lua) and the fork written with its copied turns
 * (`ConversationStore.fork`, fork.lua), counted as the commands the store's connection sends
 * (ioredis `sendCommand`; the scripts warmed up first, so no NOSCRIPT retry is counted). What
 * `POST /conversation/:id/fork` adds on top (the caller's budget and local-model checks, the job
 * of turn 8) is not copying and is left out. No model is asked (nothing to re-ask: the fork's
 * turns 1-7 are the parent's).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CloudStep, ConversationSettings, LocalStep } from '../conversation/model';
import { DEFAULT_TEMPLATES } from '../conversation/templates';
import { ConversationStore } from '../store/conversation-store';
import type { BenchContext } from './bench-context';
import { summarize, type Summary } from './stats';

export interface ForkCopyResult {
  turns: number;
  atTurn: number;
  sharedTurns: number;
  forks: number;
  /** Round trips of one fork (parent read + fork write). */
  roundTrips: number;
  roundTripsPerSharedTurn: number;
  forkMs: Summary;
}

const settingsOf = (id: string, extra: Partial<ConversationSettings> = {}): ConversationSettings => ({
  initialQuery: 'What is the best way to learn a language as an adult?',
  outputFile: `conversation-${id}.csv`,
  maxTurns: 10,
  timeoutMinutes: 30,
  cloudModel: 'amazon.nova-micro-v1:0',
  localModel: 'llama3.2',
  contextTurns: 3,
  templates: DEFAULT_TEMPLATES,
  systemPrompts: {},
  ...extra,
});

export async function measureForkCopy(ctx: BenchContext): Promise<ForkCopyResult> {
  const turns = 10;
  const atTurn = 8;
  const forks = ctx.quick ? 50 : 300;
  const prefix = ctx.prefix('fork');
  const redis = new Redis(ctx.redisUrl);
  let sent = 0;
  const send = redis.sendCommand.bind(redis);
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (...args: Parameters<typeof send>) => {
    sent++;
    return send(...args);
  };
  try {
    const store = new ConversationStore(redis, { prefix, retentionSeconds: 3600 });
    const parentId = randomUUID();
    await store.create(parentId, settingsOf(parentId));
    const record = (await store.get(parentId))!;
    const text = (k: number, what: string) => `${what} of turn ${k}: ${'lorem ipsum dolor sit amet '.repeat(20)}`;
    for (let k = 1; k <= turns; k++) {
      const now = Date.now();
      const cloud: CloudStep = {
        question: text(k, 'question'),
        answer: text(k, 'answer'),
        model: record.settings.cloudModel,
        inputTokens: 200,
        outputTokens: 150,
        latencyMs: 900,
        stopReason: 'end_turn',
        startedAt: now - 900,
        at: now,
      };
      const local: LocalStep = {
        prompt: text(k, 'prompt'),
        followUp: text(k, 'follow-up'),
        model: record.settings.localModel,
        inputTokens: 180,
        outputTokens: 60,
        latencyMs: 400,
        stopReason: 'stop',
        at: now,
      };
      await store.recordStep(record, 'cloud', k, cloud);
      await store.recordStep(record, 'local', k, local);
    }
    await store.finish(parentId, 'completed', 'max_turns');
    const forkOnce = async () => {
      const id = randomUUID();
      const parent = (await store.getConversation(parentId))!;
      const res = await store.fork(parent, id, settingsOf(id, { temperature: 0.9, fork: { parentId, atTurn } }));
      if (!res.created) throw new Error(`fork ${id} was not created: ${JSON.stringify(res)}`);
      return id;
    };
    // Warm-up: the scripts are loaded (a first EVALSHA answers NOSCRIPT and is sent again).
    const warm = await forkOnce();
    const copied = (await store.getConversation(warm))!;
    const shared = copied.turns.filter((t) => t.turn < atTurn && t.cloud && t.local).length;
    if (shared !== atTurn - 1) throw new Error(`the fork holds ${shared} shared turns, expected ${atTurn - 1}`);
    const samples: number[] = [];
    let total = 0;
    for (let i = 0; i < forks; i++) {
      const before = sent;
      const t = performance.now();
      await forkOnce();
      samples.push(performance.now() - t);
      total += sent - before;
    }
    const roundTrips = total / forks;
    return {
      turns,
      atTurn,
      sharedTurns: atTurn - 1,
      forks,
      roundTrips,
      roundTripsPerSharedTurn: roundTrips / (atTurn - 1),
      forkMs: summarize(samples),
    };
  } finally {
    redis.disconnect();
  }
}
