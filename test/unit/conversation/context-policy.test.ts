/**
 * The cache-friendly context policy (`blocks`): the whole history up to a token budget, then the
 * oldest `contextTurns` turns dropped at once, so the prefix a prompt cache holds stays the same
 * for many turns; the default where caching applies (issue 24, part 3).
 */
import assert from 'node:assert/strict';
import type { ConversationSettings, TurnRecord } from '../../../conversation/model';
import { blocksWindowStart, cacheHistoryOf, historyOf } from '../../../conversation/turn-rules';
import { contextReason, parseConversationRequest } from '../../../conversation/conversation-request';
import { loadConfig } from '../../../shared/config';
import { decodeSettingsFields, encodeSettingsFields } from '../../../store/record-codec';

const text = (n: number) => 'x'.repeat(n);
const turnsOf = (n: number, bytes: number): TurnRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    turn: i + 1,
    cloud: {
      question: text(bytes),
      answer: text(bytes),
      model: 'm',
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 0,
      stopReason: 'end_turn',
      startedAt: 0,
      at: 0,
    },
    local: {
      prompt: text(bytes),
      followUp: text(bytes),
      model: 'l',
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 0,
      stopReason: 'stop',
      at: 0,
    },
  }));

describe('context policy: blocks', () => {
  it('keeps the whole history while it fits, then moves its start a block at a time', () => {
    // Each exchange: 2 × 400 bytes = 200 tokens (bytes / 4); budget 1,000 tokens = 5 exchanges.
    const turns = turnsOf(20, 400);
    const starts = Array.from({ length: 20 }, (_, i) => blocksWindowStart('cloud', turns, i + 1, 3, 1000));
    assert.deepEqual(starts.slice(0, 6), [1, 1, 1, 1, 1, 1], 'all of turns 1..5 fit');
    // The start only ever jumps by 3, and stays put between jumps.
    for (let k = 1; k < starts.length; k++) assert.ok(starts[k]! === starts[k - 1]! || starts[k]! - starts[k - 1]! === 3);
    const changes = starts.filter((s, k) => k > 0 && s !== starts[k - 1]).length;
    assert.ok(changes <= 6, `the prefix changed ${changes} times in 20 turns (a sliding window: every turn)`);
  });

  it("the history's prefix is the same from one turn to the next between jumps", () => {
    const turns = turnsOf(12, 400);
    const s = { contextPolicy: 'blocks', contextTokens: 1000, contextTurns: 3 } as ConversationSettings;
    const h7 = historyOf('cloud', turns, 7, s);
    const h8 = historyOf('cloud', turns, 8, s);
    assert.deepEqual(h8.slice(0, h7.length), h7);
  });

  it('keeps the previous turn when a block step would pass it (the newest exchange always)', () => {
    // 2 × 4,000 bytes = 2,000 tokens an exchange, over a 1,000 budget: the start would jump 1 → 6.
    const turns = turnsOf(5, 4000);
    assert.equal(blocksWindowStart('cloud', turns, 4, 5, 1000), 3);
    const s = { contextPolicy: 'blocks', contextTokens: 1000, contextTurns: 5 } as ConversationSettings;
    assert.deepEqual(
      historyOf('cloud', turns, 4, s).map((m) => m.content.length),
      [4000, 4000],
    );
  });

  it('gives the same history from only the turns it keeps (what the step loader reads)', () => {
    const sizes = [900, 40, 1300, 200, 2600, 10, 700, 1500, 80, 3000, 400, 1200, 60, 2200, 900, 100];
    const turns: TurnRecord[] = turnsOf(sizes.length, 1).map((t, i) => ({
      turn: t.turn,
      cloud: { ...t.cloud!, question: text(sizes[i]!), answer: text(sizes[(i + 3) % sizes.length]!) },
      local: { ...t.local!, prompt: text(sizes[(i + 5) % sizes.length]!), followUp: text(sizes[(i + 7) % sizes.length]!) },
    }));
    for (const block of [1, 2, 3, 5]) {
      for (const budget of [300, 1000, 2500]) {
        const s = { contextPolicy: 'blocks', contextTokens: budget, contextTurns: block } as ConversationSettings;
        for (let turn = 2; turn <= turns.length; turn++) {
          const from = Math.min(
            blocksWindowStart('cloud', turns, turn, block, budget),
            blocksWindowStart('local', turns, turn, block, budget),
          );
          const kept = turns.filter((t) => t.turn >= from);
          for (const side of ['cloud', 'local'] as const) {
            assert.deepEqual(
              historyOf(side, kept, turn, s),
              historyOf(side, turns, turn, s),
              `${side} turn ${turn} block ${block} budget ${budget}`,
            );
          }
        }
      }
    }
  });

  it('is the default where caching applies, and the sliding window elsewhere or when asked', () => {
    const config = loadConfig({});
    const nova = parseConversationRequest({ initialQuery: 'q', cloudModel: 'amazon.nova-micro-v1:0' }, config, 'c1');
    assert.equal(nova.contextPolicy, 'blocks');
    assert.equal(nova.contextTokens, 8000);
    const off = parseConversationRequest({ initialQuery: 'q', cloudModel: 'amazon.nova-micro-v1:0', cache: false }, config, 'c2');
    assert.equal(off.contextPolicy, undefined);
    assert.equal(off.cache, false);
    const llama = parseConversationRequest({ initialQuery: 'q', cloudModel: 'meta.llama3-1-8b-instruct-v1:0' }, config, 'c3');
    assert.equal(llama.contextPolicy, undefined);
    const turnsGiven = parseConversationRequest({ initialQuery: 'q', cloudModel: 'amazon.nova-micro-v1:0', contextTurns: 2 }, config, 'c4');
    assert.equal(turnsGiven.contextPolicy, undefined, 'an explicit contextTurns keeps the sliding window');
  });

  it('which history checkpoints a cloud call gets: none written on the last turn, none at all once a sliding window moves', () => {
    const base = parseConversationRequest({ initialQuery: 'q', maxTurns: 10 }, loadConfig({}), 'c6');
    const blocks: ConversationSettings = { ...base, contextPolicy: 'blocks', contextTokens: 8000 };
    assert.deepEqual(
      [1, 9, 10].map((k) => cacheHistoryOf(blocks, k)),
      [undefined, undefined, 'read'],
    );
    const sliding: ConversationSettings = { ...base, contextPolicy: undefined, contextTurns: 3 };
    // turn 4 sends turns 1-3 (turn 3 sent 1-2: read), turn 5 sends 2-4 (turn 6 will send 3-5).
    assert.deepEqual(
      [1, 3, 4, 5, 10].map((k) => cacheHistoryOf(sliding, k)),
      [undefined, undefined, 'read', 'none', 'none'],
    );
  });

  it('the default follows what caching can do for the model: the sliding window where its checkpoint minimum is out of reach', () => {
    const config = loadConfig({});
    const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0'; // 4,096 tokens per checkpoint
    const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'; // 1,024
    const system = 'rules style facts voice terms '.repeat(220); // 6,600 bytes: 1,100 tokens as checkpoints count them
    const ask = (extra: Record<string, unknown>) =>
      parseConversationRequest({ initialQuery: 'q', systemPrompts: { cloud: system }, ...extra }, config, 'c7');
    const haiku = ask({ cloudModel: HAIKU });
    assert.equal(haiku.contextPolicy, undefined, '1,100 + half of 8,000 × 4 / 6 = 3,766 < 4,096');
    assert.match(
      contextReason(haiku),
      /^sliding window of contextTurns: .*below .*minimum of 4096 tokens per cache checkpoint.*"contextPolicy": "blocks"/,
    );
    assert.equal(ask({ cloudModel: HAIKU, contextTokens: 9000 }).contextPolicy, 'blocks', '1,100 + 3,000 reaches it');
    const asked = ask({ cloudModel: HAIKU, contextPolicy: 'blocks' });
    assert.equal(asked.contextPolicy, 'blocks', 'an explicit contextPolicy always wins');
    assert.equal(contextReason(asked), 'asked (contextPolicy)');
    const sonnet = ask({ cloudModel: SONNET });
    assert.equal(sonnet.contextPolicy, 'blocks');
    assert.match(contextReason(sonnet), /^blocks, the default where caching applies: .*reaches the model's minimum/);
    assert.match(contextReason(ask({ cloudModel: SONNET, cache: false })), /caching is off \(cache: false\)/);
    assert.match(contextReason(ask({ cloudModel: 'meta.llama3-1-8b-instruct-v1:0' })), /not cache-capable/);
    const { conv, steps } = encodeSettingsFields(haiku, 'c7');
    assert.equal(contextReason(decodeSettingsFields(conv, steps.q!, steps.x, 'c7')), contextReason(haiku), 'the record keeps the reason');
    assert.equal(conv.contextWhy, 'below:1100+2666<4096', 'a short field (the conversation hash keeps values ≤ 64 bytes)');
    assert.equal(encodeSettingsFields(sonnet, 'c8').conv.contextWhy, undefined, 'nothing kept where the settings say it');
  });

  it('the record keeps cache, contextPolicy and contextTokens', () => {
    const config = loadConfig({});
    const s = parseConversationRequest({ initialQuery: 'q', cache: false, contextPolicy: 'blocks', contextTokens: 3000 }, config, 'c5');
    const { conv, steps } = encodeSettingsFields(s, 'c5');
    const back = decodeSettingsFields(conv, steps.q!, steps.x, 'c5');
    assert.equal(back.cache, false);
    assert.equal(back.contextPolicy, 'blocks');
    assert.equal(back.contextTokens, 3000);
  });
});
