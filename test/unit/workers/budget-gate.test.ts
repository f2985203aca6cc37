import assert from 'node:assert/strict';
import { CALL_OVERHEAD, inputTokensBound, MESSAGE_OVERHEAD } from '../../../workers/budget-gate';

describe('budget gate: the input-token bound', () => {
  it('counts UTF-8 bytes of prompt, system prompt and history plus the per-message and per-call overheads', () => {
    const bound = inputTokensBound({
      prompt: 'héllo',
      system: 'be brief',
      history: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    });
    assert.equal(bound, CALL_OVERHEAD + (6 + MESSAGE_OVERHEAD) + (8 + MESSAGE_OVERHEAD) + 2 * (1 + MESSAGE_OVERHEAD));
  });

  it("is never below the emulators' or a byte-level tokenizer's count (a token is at least one byte)", () => {
    const text = 'Tokens are words for the emulators; real tokenizers never pack more than one token into a byte.';
    assert.ok(inputTokensBound({ prompt: text }) >= text.split(/\s+/).length);
    assert.ok(inputTokensBound({ prompt: text }) >= Buffer.byteLength(text));
  });
});
