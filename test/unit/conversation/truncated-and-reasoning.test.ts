/**
 * Answers the model cut or spent on reasoning (issue 20, part 3): `quality.truncated` decides what
 * a truncated reply does, and an empty answer after reasoning names the tokens spent and the
 * setting to raise. Converse's stop reasons are the SDK 3.1163 `StopReason` enum (`max_tokens`,
 * `model_context_window_exceeded`, ...).
 */
import assert from 'node:assert/strict';
import { parseConversationRequest } from '../../../conversation/conversation-request';
import { emptyAnswerDetail, nextAfter, qualityObservation } from '../../../conversation/turn-rules';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import { loadConfig } from '../../../shared/config';
import { ValidationError } from '../../../shared/errors';

const config = loadConfig({});
const settings = { maxTurns: 5, stopPhrase: undefined, quality: { truncated: 'stop' as const } };

describe('truncated replies and reasoning (conversation rules)', () => {
  describe('quality.truncated', () => {
    it('accepts "stop" and "continue" (the default, stored as absent) and refuses anything else naming the field', () => {
      assert.deepEqual(parseConversationRequest({ initialQuery: 'q', quality: { truncated: 'stop' } }, config, 'id').quality, {
        truncated: 'stop',
      });
      assert.deepEqual(parseConversationRequest({ initialQuery: 'q', quality: { truncated: 'continue' } }, config, 'id').quality, {});
      assert.throws(
        () => parseConversationRequest({ initialQuery: 'q', quality: { truncated: 'halt' } }, config, 'id'),
        (err: unknown) => err instanceof ValidationError && /quality\.truncated/.test(err.message),
      );
    });

    it('"stop" ends the conversation "truncated" after a truncated reply of either side', () => {
      const seen = (truncated: boolean) => qualityObservation('cloud', 1, 'q', [], { templates: DEFAULT_TEMPLATES }, truncated);
      assert.deepEqual(nextAfter('cloud', 1, 'a cut ans', settings, 'max_tokens', seen(true)), { kind: 'stop', reason: 'truncated' });
      assert.deepEqual(nextAfter('local', 1, 'a cut follow', settings, undefined, seen(true)), { kind: 'stop', reason: 'truncated' });
      assert.deepEqual(nextAfter('cloud', 1, 'a whole answer', settings, 'end_turn', seen(false)), {
        kind: 'step',
        side: 'local',
        turn: 1,
      });
    });

    it('"continue" (or no quality settings) goes on after a truncated reply', () => {
      const seen = qualityObservation('cloud', 1, 'q', [], { templates: DEFAULT_TEMPLATES }, true);
      assert.deepEqual(nextAfter('cloud', 1, 'a cut ans', { maxTurns: 5, quality: { truncated: 'continue' } }, 'max_tokens', seen), {
        kind: 'step',
        side: 'local',
        turn: 1,
      });
      assert.deepEqual(nextAfter('cloud', 1, 'a cut ans', { maxTurns: 5 }, 'max_tokens', seen), { kind: 'step', side: 'local', turn: 1 });
    });

    it('an empty answer stays empty_answer even with "stop" (nothing to send on either way)', () => {
      const seen = qualityObservation('cloud', 1, 'q', [], { templates: DEFAULT_TEMPLATES }, true);
      assert.deepEqual(nextAfter('cloud', 1, '', settings, 'max_tokens', seen), { kind: 'stop', reason: 'empty_answer' });
    });
  });

  describe('emptyAnswerDetail', () => {
    it('names the reasoning tokens spent, the cap and the setting to raise', () => {
      const msg = emptyAnswerDetail('cloud', { outputTokens: 20, stopReason: 'max_tokens', reasoningTokens: 20 }, 20);
      assert.equal(
        msg,
        'cloud model spent 20 of 20 output tokens reasoning and answered no text (stop reason max_tokens); raise maxTokens above 20 (the conversation\'s "maxTokens", or DEFAULT_MAX_TOKENS)',
      );
      assert.match(
        emptyAnswerDetail('cloud', { outputTokens: 90, stopReason: 'end_turn', reasoningTokens: 80, reasoningTokensEstimated: true }),
        /spent about 80 of 90 output tokens reasoning/,
      );
    });

    it('without a reasoning count, a max_tokens stop still says to raise maxTokens', () => {
      assert.match(
        emptyAnswerDetail('local', { outputTokens: 64, stopReason: 'max_tokens' }, 64),
        /reached maxTokens 64 after 64 output tokens without text \(reasoning not reported\); raise maxTokens above 64/,
      );
      assert.doesNotMatch(emptyAnswerDetail('cloud', { outputTokens: 0, stopReason: 'end_turn' }), /raise/);
    });
  });
});
