/**
 * The judge caches its rubric prefix (issue 24, part 4): the rubric's text before {{transcript}}
 * is the system prompt, the same for every conversation, so the second conversation's judging
 * call reads it from Bedrock's prompt cache (the emulator's, with the real SDK client).
 */
import assert from 'node:assert/strict';
import { createBedrockConverse } from '../../../bedrock/bedrock-client';
import type { TurnRecord } from '../../../conversation/model';
import { startBedrockEmulator } from '../../../emulators/bedrock-emulator';
import { answerFormat, judgeCall, judgePrompt, parseRubric } from '../../../judge/rubric';

const longGuide = Array.from({ length: 1100 }, (_, i) => `guide${i % 7}`).join(' ');
const rubric = parseRubric(
  JSON.stringify({
    criteria: [{ name: 'helpfulness', description: 'helps' }],
    scale: { min: 1, max: 5 },
    prompt: `Judge the conversation.\n${longGuide}\n{{criteria}}\n\nTranscript:\n{{transcript}}`,
  }),
);
const turnsOf = (answer: string): TurnRecord[] => [
  {
    turn: 1,
    cloud: {
      question: 'Q?',
      answer,
      model: 'm',
      inputTokens: 1,
      outputTokens: 1,
      latencyMs: 1,
      stopReason: 'end_turn',
      startedAt: 0,
      at: 0,
    },
  },
];

describe('judge: the rubric prefix is cached', () => {
  it('splits the rubric before {{transcript}} into a system prompt that does not depend on the conversation', () => {
    const a = judgeCall(rubric, 'first?', turnsOf('one'));
    const b = judgeCall(rubric, 'second?', turnsOf('two'));
    assert.equal(a.system, b.system);
    assert.match(a.system!, /- helpfulness: helps$/);
    assert.match(a.prompt, /^Transcript:\nOpening question: first\?/);
    assert.ok(a.prompt.endsWith(answerFormat(rubric)));
    // Same text as the single prompt, only split.
    assert.equal(`${a.system}\n\n${a.prompt}`, judgePrompt(rubric, 'first?', turnsOf('one')));
  });

  it('a rubric starting with {{transcript}} has no system prompt', () => {
    const r = parseRubric(
      JSON.stringify({ criteria: [{ name: 'x', description: 'y' }], scale: { min: 1, max: 5 }, prompt: '{{transcript}} {{criteria}}' }),
    );
    assert.equal(judgeCall(r, 'q', turnsOf('a')).system, undefined);
  });

  it('the second judging call reads the rubric from the prompt cache (Nova Micro, 1,000 tokens per checkpoint)', async () => {
    const emu = await startBedrockEmulator({ port: 0 });
    try {
      const converse = createBedrockConverse({ region: 'us-east-1', endpoint: emu.url, defaultModelId: 'amazon.nova-micro-v1:0' });
      const one = judgeCall(rubric, 'first?', turnsOf('one'));
      const two = judgeCall(rubric, 'second?', turnsOf('two'));
      const r1 = await converse({ system: one.system, history: [], prompt: one.prompt });
      const r2 = await converse({ system: two.system, history: [], prompt: two.prompt });
      assert.ok(r1.cacheWriteInputTokens > 1000);
      assert.equal(r2.cacheReadInputTokens, r1.cacheWriteInputTokens);
    } finally {
      await emu.close();
    }
  });
});
