import assert from 'node:assert/strict';
import { goalCheckDue, localSystemPrompt, personaText } from '../../../conversation/goal-rules';
import { nextAfter, followUpPrompt } from '../../../conversation/turn-rules';
import { parseConversationRequest } from '../../../conversation/conversation-request';
import { templateProblem } from '../../../conversation/templates';
import { GOAL_ANSWER_FORMAT, goalPrompt, parseGoalVerdict } from '../../../judge/goal-verdict';
import { loadConfig } from '../../../shared/config';
import type { ConversationSettings } from '../../../conversation/model';

describe('personas and goals (conversation/goal-rules.ts, judge/goal-verdict.ts)', () => {
  const config = loadConfig({});
  const parse = (body: Record<string, unknown>) => parseConversationRequest({ initialQuery: 'q', ...body }, config, 'c1');

  it('a persona as a string or as parts; the parts in a fixed order, empty ones left out', () => {
    assert.equal(personaText('a curious student'), 'a curious student');
    assert.equal(personaText({ language: 'German', role: 'nurse' }), 'role: nurse; language: German');
    assert.equal(personaText(undefined), '');
  });

  it('the follow-up template and the local system prompt receive {{persona}} and {{goal}}', () => {
    const s = parse({
      persona: { role: 'CTO' },
      goal: 'pick a database',
      templates: { followUp: '[{{persona}}|{{goal}}] {{answer}}' },
      systemPrompts: { local: 'You are {{persona}}; you want to {{goal}}.' },
    });
    assert.equal(followUpPrompt(s, 'Q', 'A'), '[role: CTO|pick a database] A');
    assert.equal(localSystemPrompt(s), 'You are role: CTO; you want to pick a database.');
    // No system prompt of its own: the default one with what is given; neither given: none.
    assert.equal(
      localSystemPrompt(parse({ persona: 'a chef' })),
      'You are the one asking the questions in this conversation. You are: a chef.',
    );
    assert.match(
      localSystemPrompt(parse({ goal: 'learn knife skills' }))!,
      /^What you want to get out of the conversation: learn knife skills\.$/,
    );
    assert.equal(localSystemPrompt(parse({})), undefined);
    assert.equal(templateProblem('followUp', '{{persona}} {{goal}} {{answer}}'), undefined);
    assert.match(templateProblem('nextQuery', '{{persona}} {{followUp}}')!, /unknown placeholder/);
  });

  it('the request: stop.goalMet defaults (every 1, side cloud), needs a goal, bad personas refused naming the field', () => {
    const s = parse({ goal: 'g', stop: { goalMet: {} } });
    assert.deepEqual(s.stop, { goalMet: { every: 1, side: 'cloud' } });
    assert.throws(() => parse({ stop: { goalMet: { every: 2 } } }), /stop\.goalMet: needs a "goal"/);
    assert.throws(() => parse({ persona: {} }), /persona/);
    assert.throws(() => parse({ persona: { mood: 'x' } }), /persona/);
    assert.throws(() => parse({ goal: 'g', stop: { goalMet: { every: 0 } } }), /stop\.goalMet\.every/);
    assert.equal(parse({}).persona, undefined);
  });

  it('the check is due after every k-th turn, only with a goal and stop.goalMet', () => {
    const s = { goal: 'g', stop: { goalMet: { every: 2, side: 'cloud' as const } } };
    assert.deepEqual(
      [1, 2, 3, 4].map((t) => goalCheckDue(s, t)),
      [false, true, false, true],
    );
    assert.equal(goalCheckDue({ goal: 'g' }, 1), false);
    assert.equal(goalCheckDue({ stop: s.stop }, 2), false);
  });

  it('nextAfter: a met goal stops the chain goal_met, before max_turns; an empty follow-up stays empty_answer', () => {
    const settings: Pick<ConversationSettings, 'maxTurns' | 'stopPhrase' | 'quality'> = { maxTurns: 3 };
    assert.deepEqual(nextAfter('local', 1, 'more?', settings, undefined, undefined, true), { kind: 'stop', reason: 'goal_met' });
    assert.deepEqual(nextAfter('local', 3, 'more?', settings, undefined, undefined, true), { kind: 'stop', reason: 'goal_met' });
    assert.deepEqual(nextAfter('local', 1, 'more?', settings, undefined, undefined, false), { kind: 'step', side: 'cloud', turn: 2 });
    assert.deepEqual(nextAfter('local', 1, ' ', settings, undefined, undefined, true), { kind: 'stop', reason: 'empty_answer' });
  });

  it('the verdict prompt carries persona, goal and transcript and ends in the answer format; the verdict parsed or "not met"', () => {
    const prompt = goalPrompt({ initialQuery: 'Q0', persona: 'a chef', goal: 'G' }, [
      { turn: 2, local: { followUp: 'F2' } as never },
      { turn: 1, cloud: { question: 'Q1', answer: 'A1' } as never },
    ]);
    assert.match(
      prompt,
      /The asker: a chef\nThe asker's goal: G\n\nOpening question: Q0\nTurn 1 question: Q1\nTurn 1 answer: A1\nTurn 2 follow-up: F2/,
    );
    assert.ok(prompt.endsWith(GOAL_ANSWER_FORMAT));
    assert.deepEqual(parseGoalVerdict('Sure. {"goalMet": true, "reason": "done"} ok', 'm'), { met: true, reason: 'done', model: 'm' });
    assert.deepEqual(parseGoalVerdict('{"goalMet": false}', 'm'), { met: false, model: 'm' });
    const garbage = parseGoalVerdict('{"goalMet": "yes"} I think so', 'm');
    assert.equal(garbage.met, false);
    assert.match(garbage.reason!, /no verdict in the answer/);
  });
});
