import assert from 'node:assert/strict';
import { bedrockReply, ollamaReply } from '../../../emulators/emulated-text';
import { goalPrompt, parseGoalVerdict } from '../../../judge/goal-verdict';

describe('emulators: the goal verdict (stop.goalMet)', () => {
  const turns = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      turn: i + 1,
      cloud: { question: 'q', answer: 'a' } as never,
      local: { followUp: 'f' } as never,
    }));

  it('[emulate:goal-met-after:N] is met once turn N is in the transcript, on both emulators, the same every time', () => {
    const settings = { initialQuery: 'Q', goal: 'G [emulate:goal-met-after:2]' };
    for (const reply of [(p: string) => bedrockReply('m', p), (p: string) => ollamaReply('m', p)]) {
      assert.equal(parseGoalVerdict(reply(goalPrompt(settings, turns(1))), 'm').met, false);
      assert.equal(parseGoalVerdict(reply(goalPrompt(settings, turns(2))), 'm').met, true);
      assert.equal(reply(goalPrompt(settings, turns(2))), reply(goalPrompt(settings, turns(2))));
    }
    assert.equal(parseGoalVerdict(bedrockReply('m', goalPrompt({ initialQuery: 'Q', goal: 'G' }, turns(3))), 'm').met, false);
    assert.equal(parseGoalVerdict(bedrockReply('m', goalPrompt({ initialQuery: 'Q', goal: '[emulate:goal-met]' }, [])), 'm').met, true);
  });

  it('an ordinary prompt that mentions a goal is not answered as a verdict', () => {
    assert.match(bedrockReply('m', 'Is the goal met? [emulate:goal-met]'), /^\[emulated bedrock m\]/);
  });
});
