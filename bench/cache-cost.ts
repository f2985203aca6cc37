/**
 * What 1,000 conversations cost, with Bedrock prompt caching on and off (issue 24): conversations
 * of 10 and 20 turns, built as the pipeline builds them (conversation/turn-rules.ts through
 * bench/turn-calls.ts, the request defaults of conversation/conversation-request.ts: caching on
 * gives the `blocks` context policy where the model's checkpoint minimum is within reach, else the
 * sliding window, as `cache: false` does), the cloud side
 * through bedrock/bedrock-client.ts against the Bedrock emulator (its prompt cache,
 * emulators/emulated-prompt-cache.ts), the local side through the real `ollama` client against
 * the Ollama emulator (prefix reuse while loaded). Cost: cost/price-table.ts with the catalogue's
 * prices (local models at 0).
 *
 * Token counts are the emulators' (a token per word; replies of {@link REPLY_WORDS} words asked
 * with `[emulate:tokens=N]`, a system prompt of {@link SYSTEM_WORDS}): real models count
 * differently and answer at other lengths, so the dollars are an illustration of the ratio, not a
 * forecast. No Redis: the call sequence is the pipeline's, the queueing is not what is measured.
 */
import { Ollama } from 'ollama';
import { createBedrockConverse } from '../bedrock/bedrock-client';
import { parseConversationRequest } from '../conversation/conversation-request';
import type { TurnRecord } from '../conversation/model';
import { callCostUsd, DEFAULT_PRICES } from '../cost/price-table';
import { startBedrockEmulator } from '../emulators/bedrock-emulator';
import { startOllamaEmulator } from '../emulators/ollama-emulator';
import { loadConfig } from '../shared/config';
import { turnCalls } from './turn-calls';

/** Words per cloud answer (the emulator's `[emulate:tokens=N]`). */
export const REPLY_WORDS = 300;
/** Words of the cloud system prompt (a data-generation brief of about a page). */
export const SYSTEM_WORDS = 1100;

export interface CacheCostRow {
  model: string;
  turns: number;
  /** The context policy caching on chose by default (conversation-request.ts): the same for `uncachedUsdPer1k`. */
  policy: 'blocks' | 'sliding';
  cachedUsdPer1k: number;
  /** Caching off, the same prompts (the context policy caching on chose). */
  uncachedUsdPer1k: number;
  ratio: number;
  /** Caching off with its own default context (the sliding window of 3 turns): what a run without this change cost. */
  slidingUsdPer1k: number;
  ratioVsSliding: number;
  /**
   * The output tokens alone (caching on), priced: what no input caching can lower. Its ratio to
   * `uncachedUsdPer1k` is the floor of `ratio`.
   */
  outputOnlyUsdPer1k: number;
  floorRatio: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface CacheCostResult {
  rows: CacheCostRow[];
  conversations: number;
  /** Local prompt tokens evaluated ÷ sent over the 10-turn conversations with caching on (the Ollama emulator's counts). */
  localEvaluatedPerSent: number;
}

const systemPrompt = () => Array.from({ length: SYSTEM_WORDS }, (_, i) => ['rules', 'style', 'facts', 'voice', 'terms'][i % 5]).join(' ');

/** Runs `conversations` seeds of `turns` turns on `model`, caching on or off; USD per conversation and the tokens. */
async function runSet(
  urls: { bedrock: string; ollama: string },
  model: string,
  turns: number,
  cache: boolean,
  conversations: number,
  /** The context policy to ask for (default: the request's default for `cache`). */
  contextPolicy?: 'blocks' | 'sliding',
): Promise<{ usd: number; outputUsd: number; read: number; write: number; policy: 'blocks' | 'sliding' }> {
  const config = loadConfig({});
  const converse = createBedrockConverse({ region: 'us-east-1', endpoint: urls.bedrock, defaultModelId: model });
  const ollama = new Ollama({ host: urls.ollama });
  let usd = 0;
  let outputUsd = 0;
  let read = 0;
  let write = 0;
  let policy: 'blocks' | 'sliding' = 'sliding';
  for (let n = 0; n < conversations; n++) {
    const id = `bench-cache-${model}-${turns}-${cache}-${n}`;
    const s = parseConversationRequest(
      {
        initialQuery: `Seed ${n}: what makes a long conversation useful as training data? [emulate:tokens=${REPLY_WORDS}]`,
        cloudModel: model,
        maxTurns: turns,
        systemPrompts: { cloud: systemPrompt() },
        templates: { nextQuery: `Do you have any comments on: {{followUp}} [emulate:tokens=${REPLY_WORDS}]` },
        ...(cache ? {} : { cache: false }),
        ...(contextPolicy ? { contextPolicy } : {}),
      },
      config,
      id,
    );
    policy = s.contextPolicy ?? 'sliding';
    const done: TurnRecord[] = [];
    for (let k = 1; k <= turns; k++) {
      const call = turnCalls.cloud(id, s, done, k, 30_000);
      const reply = await converse({
        modelId: model,
        system: call.system,
        history: call.history ?? [],
        prompt: call.prompt,
        ...(call.cache === false ? { cache: false } : {}),
        ...(call.cacheHistory ? { cacheHistory: call.cacheHistory } : {}),
      });
      const cost = callCostUsd(model, 'cloud', reply.inputTokens, reply.outputTokens, DEFAULT_PRICES, {
        readTokens: reply.cacheReadInputTokens,
        writeTokens: reply.cacheWriteInputTokens,
      });
      usd += cost ?? Number.NaN;
      outputUsd += callCostUsd(model, 'cloud', 0, reply.outputTokens, DEFAULT_PRICES) ?? Number.NaN;
      read += reply.cacheReadInputTokens;
      write += reply.cacheWriteInputTokens;
      const cloud = turnCalls.cloudStep(
        call,
        {
          text: reply.text,
          model,
          inputTokens: reply.inputTokens,
          outputTokens: reply.outputTokens,
          stopReason: reply.stopReason,
          latencyMs: 0,
        },
        Date.now(),
      );
      const localCall = turnCalls.local(id, s, done, k, cloud, 30_000);
      const messages = [
        ...(localCall.system ? [{ role: 'system', content: localCall.system }] : []),
        ...(localCall.history ?? []),
        { role: 'user', content: localCall.prompt },
      ];
      const local = await ollama.chat({ model: s.localModel, messages, stream: false, keep_alive: config.ollamaKeepAlive });
      done.push({
        turn: k,
        cloud,
        local: turnCalls.localStep(localCall, {
          text: local.message.content,
          model: s.localModel,
          inputTokens: local.prompt_eval_count,
          outputTokens: local.eval_count,
          stopReason: 'stop',
          latencyMs: 0,
        }),
      });
    }
  }
  return { usd: usd / conversations, outputUsd: outputUsd / conversations, read, write, policy };
}

/** The default model and two others (each cache-capable in the catalogue), 10 and 20 turns, caching on and off. */
export async function measureCacheCost(
  opts: {
    quick?: boolean;
    models?: string[] /** Asked with caching on instead of the default. */;
    contextPolicy?: 'blocks' | 'sliding';
  } = {},
): Promise<CacheCostResult> {
  const models = opts.models ?? [
    loadConfig({}).bedrockModelId,
    'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  ];
  const conversations = opts.quick ? 2 : 5;
  const bedrock = await startBedrockEmulator({ port: 0 });
  // contextLength 0: the emulator never cuts a prompt (the provider sizes num_ctx to fit).
  const ollama = await startOllamaEmulator({ port: 0, contextLength: 0 });
  try {
    const rows: CacheCostRow[] = [];
    let localRatio = Number.NaN;
    for (const model of models) {
      for (const turns of [10, 20]) {
        // Each set starts from an empty cache: the first turns of the 20-turn seeds are the 10-turn
        // seeds' turns, and would read what those wrote (a cache a run of new conversations never has).
        bedrock.promptCache.clear();
        const before = { ...ollama.promptTokens };
        const on = await runSet({ bedrock: bedrock.url, ollama: ollama.url }, model, turns, true, conversations, opts.contextPolicy);
        if (model === models[0] && turns === 10)
          localRatio = (ollama.promptTokens.evaluated - before.evaluated) / (ollama.promptTokens.sent - before.sent);
        const off = await runSet({ bedrock: bedrock.url, ollama: ollama.url }, model, turns, false, conversations, on.policy);
        const sliding = await runSet({ bedrock: bedrock.url, ollama: ollama.url }, model, turns, false, conversations);
        rows.push({
          model,
          turns,
          policy: on.policy,
          cachedUsdPer1k: on.usd * 1000,
          uncachedUsdPer1k: off.usd * 1000,
          ratio: on.usd / off.usd,
          slidingUsdPer1k: sliding.usd * 1000,
          ratioVsSliding: on.usd / sliding.usd,
          outputOnlyUsdPer1k: on.outputUsd * 1000,
          floorRatio: on.outputUsd / off.usd,
          cacheReadTokens: on.read,
          cacheWriteTokens: on.write,
        });
      }
    }
    return { rows, conversations, localEvaluatedPerSent: localRatio };
  } finally {
    await bedrock.close();
    await ollama.close();
  }
}

if (require.main === module) {
  measureCacheCost({ quick: process.argv.includes('--quick') }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
