import assert from 'node:assert/strict';
import { emptyFollowUpNote, nextAfter } from '../../../conversation/turn-rules';

describe('nextAfter: what follows a recorded step', () => {
  const settings = { maxTurns: 3, stopPhrase: 'GOODBYE' };

  it('after a cloud answer: the local step of the same turn', () => {
    assert.deepEqual(nextAfter('cloud', 2, 'an answer', settings), { kind: 'step', side: 'local', turn: 2 });
  });

  it('after a cloud answer holding the stop phrase (any case): stop_phrase', () => {
    assert.deepEqual(nextAfter('cloud', 1, 'well, goodbye then', settings), { kind: 'stop', reason: 'stop_phrase' });
  });

  it('after a local follow-up before maxTurns: the cloud step of the next turn', () => {
    assert.deepEqual(nextAfter('local', 2, 'a follow-up', settings), { kind: 'step', side: 'cloud', turn: 3 });
  });

  it('after the local follow-up of the last turn: max_turns, even when it holds the stop phrase', () => {
    assert.deepEqual(nextAfter('local', 3, 'GOODBYE', settings), { kind: 'stop', reason: 'max_turns' });
  });

  it('after a local follow-up holding the stop phrase: stop_phrase', () => {
    assert.deepEqual(nextAfter('local', 1, 'Goodbye!', settings), { kind: 'stop', reason: 'stop_phrase' });
  });

  it('without a stop phrase nothing stops the chain early', () => {
    assert.deepEqual(nextAfter('cloud', 1, 'goodbye', { maxTurns: 3 }), { kind: 'step', side: 'local', turn: 1 });
    assert.deepEqual(nextAfter('local', 1, 'goodbye', { maxTurns: 3 }), { kind: 'step', side: 'cloud', turn: 2 });
  });
});

describe('an empty local follow-up is never sent on (issue 20 part 3)', () => {
  const settings = { maxTurns: 3, stopPhrase: 'GOODBYE', maxTokens: 64 };

  it('ends the conversation empty_answer instead of asking "Do you have any comments on: "', () => {
    assert.deepEqual(nextAfter('local', 1, '', settings, 'length'), { kind: 'stop', reason: 'empty_answer' });
    assert.deepEqual(nextAfter('local', 2, '  \n', settings, 'stop'), { kind: 'stop', reason: 'empty_answer' });
    assert.deepEqual(
      nextAfter('local', 3, '', settings, 'length'),
      { kind: 'stop', reason: 'empty_answer' },
      'even on the last turn: the record says why',
    );
  });

  it("the note names the cap (num_predict, the conversation's maxTokens) when reasoning used it up", () => {
    const note = emptyFollowUpNote({ model: 'gpt-oss:20b', outputTokens: 64, stopReason: 'length' }, settings);
    assert.match(note, /gpt-oss:20b/);
    assert.match(note, /num_predict of 64 \(the conversation's maxTokens\)/);
    assert.match(note, /64 output tokens in all, done_reason "length"/);
    assert.match(note, /raise maxTokens/);
    assert.match(emptyFollowUpNote({ model: 'm', outputTokens: 0, stopReason: 'stop' }, {}), /empty follow-up \(done_reason "stop"\)/);
  });
});
