import assert from 'node:assert/strict';
import { completionReason, endFor } from '../../../conversation/conversation-end';

describe('conversation end: what each cause means', () => {
  it('a normal stop completes after the transcript, its note on the record', () => {
    assert.deepEqual(endFor({ cause: 'stopped', reason: 'budget_exhausted', note: 'spent' }), {
      status: 'completed',
      stopReason: 'budget_exhausted',
      error: 'spent',
      afterTranscript: true,
    });
    assert.deepEqual(endFor({ cause: 'stopped', reason: 'max_turns' }), {
      status: 'completed',
      stopReason: 'max_turns',
      afterTranscript: true,
    });
  });

  it('a failure, a deadline and a cancel move at once, the transcript after', () => {
    assert.deepEqual(endFor({ cause: 'failed', reason: 'stalled', error: 'e' }), {
      status: 'failed',
      stopReason: 'stalled',
      error: 'e',
      afterTranscript: false,
    });
    assert.deepEqual(endFor({ cause: 'timed_out', error: 'e' }), {
      status: 'timed_out',
      stopReason: 'deadline_exceeded',
      error: 'e',
      afterTranscript: false,
    });
    assert.deepEqual(endFor({ cause: 'cancelled', error: 'e' }), {
      status: 'cancelled',
      stopReason: 'cancelled',
      error: 'e',
      afterTranscript: false,
    });
  });

  it('a conversation still running at its transcript completes with its noted stop, else max_turns', () => {
    assert.equal(completionReason({ pendingStop: 'stop_phrase' }), 'stop_phrase');
    assert.equal(completionReason({}), 'max_turns');
  });
});
