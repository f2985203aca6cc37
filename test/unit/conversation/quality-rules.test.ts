import assert from 'node:assert/strict';
import { isOnlyTemplate, qualityStop, similarity } from '../../../conversation/quality-rules';
import { DEFAULT_TEMPLATES, nextAfter, qualityObservation } from '../../../conversation/turn-rules';
import type { TurnRecord } from '../../../conversation/model';

const seen = (over: Partial<Parameters<typeof qualityStop>[2]> = {}) => ({ prompt: 'what is redis used for', earlier: [], ...over });

describe('quality rules', () => {
  it('similarity: word 3-gram Jaccard, 1 for the same wording (case and punctuation ignored), low for different text', () => {
    assert.equal(similarity('The cat sat on the mat.', 'the CAT sat, on the mat'), 1);
    assert.ok(similarity('the cat sat on the mat', 'a dog ran in the park today') < 0.1);
    // 3 shared 3-grams of 5 distinct (one word changed at the end).
    assert.equal(similarity('a b c d e f', 'a b c d e g'), 3 / 5);
  });

  it('repetition: a reply at or above the threshold to an earlier reply of its side stops; below does not', () => {
    const q = { repetition: { threshold: 0.9 } };
    const earlier = ['Caching halves the total time of repeated work in most systems.'];
    assert.equal(qualityStop('Caching halves the total time of repeated work in most systems!', q, seen({ earlier })), 'repetition');
    assert.equal(qualityStop('Indexes speed up reads but slow down the writes a little.', q, seen({ earlier })), undefined);
  });

  it('repetition: a reply echoing its prompt stops', () => {
    assert.equal(qualityStop('What is Redis used for?', { repetition: { threshold: 0.9 } }, seen()), 'repetition');
  });

  it('degenerate: empty, a default refusal, a configured refusal, or only the template', () => {
    assert.equal(qualityStop('  ', { degenerate: true }, seen()), 'degenerate');
    assert.equal(qualityStop("I'm sorry, but I can't help with that.", { degenerate: true }, seen()), 'degenerate');
    assert.equal(qualityStop('NO COMMENT from me', { degenerate: { refusals: ['no comment'] } }, seen()), 'degenerate');
    assert.equal(qualityStop("I'm sorry, but I can't help with that.", { degenerate: { refusals: ['no comment'] } }, seen()), undefined);
    assert.equal(
      qualityStop(
        'Please ask a follow-up question about:',
        { degenerate: true },
        seen({ template: 'Please ask a follow-up question about: {{answer}}' }),
      ),
      'degenerate',
    );
    assert.equal(
      qualityStop(
        'Redis is an in-memory store.',
        { degenerate: true },
        seen({ template: 'Please ask a follow-up question about: {{answer}}' }),
      ),
      undefined,
    );
  });

  it('isOnlyTemplate needs the template to have words of its own', () => {
    assert.equal(isOnlyTemplate('', '{{answer}}'), false);
  });

  it('max_tokens_total: stops once the total reaches the cap, not before', () => {
    assert.equal(qualityStop('ok fine', { maxTokensTotal: 100 }, seen({ tokensTotal: 99 })), undefined);
    assert.equal(qualityStop('ok fine', { maxTokensTotal: 100 }, seen({ tokensTotal: 100 })), 'max_tokens_total');
  });

  it('no gate is on without quality settings, whatever the reply', () => {
    assert.equal(qualityStop('', undefined, seen({ tokensTotal: 1e9 })), undefined);
    assert.equal(qualityStop('', {}, seen({ tokensTotal: 1e9 })), undefined);
  });
});

describe('nextAfter with quality gates', () => {
  const base = { maxTurns: 5, quality: { repetition: { threshold: 0.9 }, degenerate: true as const } };
  const turns: TurnRecord[] = [
    {
      turn: 1,
      cloud: {
        question: 'q1',
        answer: 'Redis keeps data in memory for speed.',
        model: 'm',
        inputTokens: 5,
        outputTokens: 7,
        latencyMs: 1,
        stopReason: 'end_turn',
        startedAt: 0,
        at: 0,
      },
      local: {
        prompt: 'p1',
        followUp: 'How does it persist data?',
        model: 'l',
        inputTokens: 9,
        outputTokens: 5,
        latencyMs: 1,
        stopReason: 'stop',
        at: 0,
      },
    },
  ];
  const settings = { ...base, templates: DEFAULT_TEMPLATES };

  it('a cloud answer repeating the earlier cloud answer stops with repetition', () => {
    const s = qualityObservation('cloud', 2, 'q2', turns, settings);
    assert.deepEqual(nextAfter('cloud', 2, 'Redis keeps data in memory for speed.', base, 'end_turn', s), {
      kind: 'stop',
      reason: 'repetition',
    });
  });

  it('an ordinary new answer goes on to the local step', () => {
    const s = qualityObservation('cloud', 2, 'q2', turns, settings);
    assert.deepEqual(nextAfter('cloud', 2, 'It writes snapshots and an append-only file.', base, 'end_turn', s), {
      kind: 'step',
      side: 'local',
      turn: 2,
    });
  });

  it('a local refusal stops with degenerate; maxTurns still wins on the last turn', () => {
    const s = qualityObservation('local', 2, 'p2', turns, settings);
    assert.deepEqual(nextAfter('local', 2, 'I cannot help with that.', base, 'stop', s), { kind: 'stop', reason: 'degenerate' });
    assert.deepEqual(nextAfter('local', 5, 'I cannot help with that.', base, 'stop', s), { kind: 'stop', reason: 'max_turns' });
  });

  it("qualityObservation: the side's earlier replies only, and every step's tokens", () => {
    const s = qualityObservation('local', 2, 'p2', turns, settings);
    assert.deepEqual(s.earlier, ['How does it persist data?']);
    assert.equal(s.tokensTotal, 26);
    assert.equal(s.template, DEFAULT_TEMPLATES.followUp);
  });
});
