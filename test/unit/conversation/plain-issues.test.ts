import assert from 'node:assert/strict';
import { conversationRequestSchema, describeIssues, generateRequestSchema } from '../../../conversation/conversation-request';

const messageFor = (body: unknown, schema: typeof conversationRequestSchema | typeof generateRequestSchema = conversationRequestSchema) => {
  const parsed = schema.safeParse(body);
  assert.equal(parsed.success, false, JSON.stringify(body));
  return describeIssues(parsed.error!).message;
};

describe("request validation in plain words (not zod's)", () => {
  const cases: [string, unknown, string][] = [
    ['a missing initialQuery', {}, 'initialQuery is required: the opening question, a non-empty string'],
    [
      'an initialQuery of the wrong type',
      { initialQuery: 5 },
      'initialQuery must be the opening question, a non-empty string (got a number)',
    ],
    ['an empty initialQuery (the schema’s own phrase)', { initialQuery: ' ' }, 'initialQuery must not be empty'],
    ['maxTurns below its range', { initialQuery: 'q', maxTurns: 0 }, 'maxTurns must be at least 1'],
    [
      'a fractional maxTurns',
      { initialQuery: 'q', maxTurns: 1.5 },
      'maxTurns must be a whole number of turns from 1 to 1000 (got a fraction)',
    ],
    ['temperature above its range', { initialQuery: 'q', temperature: 9 }, 'temperature must be at most 1'],
    ['timeoutMinutes not above 0', { initialQuery: 'q', timeoutMinutes: 0 }, 'timeoutMinutes must be more than 0'],
    ['think not a boolean', { initialQuery: 'q', think: 'yes' }, 'think must be true or false (got a string)'],
    ['an enum value', { initialQuery: 'q', quality: { truncated: 'x' } }, 'quality.truncated must be one of "stop", "continue"'],
    ['an unknown field', { initialQuery: 'q', colour: 'blue' }, 'the body has unknown field(s): colour'],
    ['too many models', { initialQuery: 'q', cloudModel: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'cloudModel: at most 5 models'],
  ];
  for (const [what, body, expected] of cases) it(what, () => assert.equal(messageFor(body), expected));

  it('a cloudModel that is neither an id nor a list says what it takes', () => {
    assert.match(messageFor({ initialQuery: 'q', cloudModel: 7 }), /^cloudModel must be a model id .*or a list of 1 to 5/);
  });

  it('the generate body: inputText is required', () => {
    assert.equal(messageFor({}, generateRequestSchema), 'inputText is required: the prompt, a non-empty string');
  });

  it('no zod wording is left in any of these', () => {
    for (const [, body] of cases) assert.doesNotMatch(messageFor(body), /Invalid input|Too small|Too big|Invalid option|received/);
  });
});
