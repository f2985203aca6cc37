import assert from 'node:assert/strict';
import { answerFormat, judgePrompt, parseRubric, parseScores } from '../../../judge/rubric';
import { ConfigError } from '../../../shared/errors';

const rubric = parseRubric(
  JSON.stringify({
    criteria: [
      { name: 'helpfulness', description: 'helps' },
      { name: 'coherence', description: 'on topic' },
    ],
    scale: { min: 1, max: 5 },
    prompt: 'Judge:\n{{criteria}}\n{{transcript}}',
  }),
);

describe('judge rubric', () => {
  it('defaults to the cloud side and builds a prompt with the criteria, the transcript and the answer format last', () => {
    assert.equal(rubric.side, 'cloud');
    const p = judgePrompt(rubric, 'Q?', [
      {
        turn: 1,
        cloud: {
          question: 'Q?',
          answer: 'A.',
          model: 'm',
          inputTokens: 1,
          outputTokens: 1,
          latencyMs: 1,
          stopReason: 'end_turn',
          startedAt: 0,
          at: 0,
        },
      },
    ]);
    assert.match(p, /- helpfulness: helps\n- coherence: on topic/);
    assert.match(p, /Turn 1 answer: A\./);
    assert.ok(p.endsWith(answerFormat(rubric)));
    assert.equal(
      answerFormat(rubric),
      'Answer with only this JSON: {"scores": {"helpfulness": <integer 1-5>, "coherence": <integer 1-5>}}',
    );
  });

  it('parses scores from JSON inside prose, every criterion within the scale', () => {
    assert.deepEqual(parseScores('Sure.\n{"scores": {"helpfulness": 4, "coherence": 2, "extra": 9}} done', rubric), {
      helpfulness: 4,
      coherence: 2,
    });
  });

  it('never guesses: a missing criterion, a score off the scale, a fraction or prose give nothing', () => {
    assert.equal(parseScores('{"scores": {"helpfulness": 4}}', rubric), undefined);
    assert.equal(parseScores('{"scores": {"helpfulness": 6, "coherence": 2}}', rubric), undefined);
    assert.equal(parseScores('{"scores": {"helpfulness": 3.5, "coherence": 2}}', rubric), undefined);
    assert.equal(parseScores('helpfulness 4, coherence 2', rubric), undefined);
  });

  it('a bad rubric is a ConfigError naming JUDGE_RUBRIC_FILE and the field', () => {
    const bad = (o: unknown, re: RegExp) =>
      assert.throws(
        () => parseRubric(JSON.stringify(o)),
        (e: unknown) => e instanceof ConfigError && e.key === 'JUDGE_RUBRIC_FILE' && re.test(e.message),
      );
    bad({ criteria: [], scale: { min: 1, max: 5 }, prompt: '{{transcript}}' }, /"criteria"/);
    bad({ criteria: [{ name: 'a' }], scale: { min: 5, max: 1 }, prompt: '{{transcript}}' }, /"scale"/);
    bad({ criteria: [{ name: 'a' }], scale: { min: 1, max: 5 }, prompt: 'no placeholder' }, /\{\{transcript\}\}/);
    bad({ criteria: [{ name: 'a' }, { name: 'a' }], scale: { min: 1, max: 5 }, prompt: '{{transcript}}' }, /given twice/);
    bad({ criteria: [{ name: 'a' }], scale: { min: 1, max: 5 }, prompt: '{{transcript}}', side: 'moon' }, /"side"/);
  });
});
