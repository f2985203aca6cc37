import assert from 'node:assert/strict';
import { parseConversationRequest } from '../../../conversation/conversation-request';
import { completeTurns, ownTurns, parseForkRequest } from '../../../conversation/fork-rules';
import type { TurnRecord } from '../../../conversation/model';
import { loadConfig } from '../../../shared/config';
import { ValidationError } from '../../../shared/errors';

const config = loadConfig({});

describe('fork rules', () => {
  const parent = parseConversationRequest(
    {
      initialQuery: 'Why?',
      maxTurns: 6,
      cloudModel: ['amazon.nova-micro-v1:0', 'amazon.nova-lite-v1:0'],
      temperature: 0.2,
      systemPrompts: { cloud: 'Be brief.', local: 'Be curious.' },
      templates: { nextQuery: 'Next: {{followUp}}' },
      budget: { tokens: 5000 },
    },
    config,
    'parent-id',
  );

  it("the fork's settings are the parent's with the request's changes (templates and system prompts per entry), and name the parent", () => {
    const { atTurn, settings } = parseForkRequest(
      { atTurn: 3, temperature: 0.9, systemPrompts: { cloud: 'Be a pirate.' } },
      'parent-id',
      parent,
      config,
      'fork-id',
    );
    assert.equal(atTurn, 3);
    assert.deepEqual(settings.fork, { parentId: 'parent-id', atTurn: 3 });
    assert.equal(settings.temperature, 0.9);
    assert.deepEqual(settings.systemPrompts, { cloud: 'Be a pirate.', local: 'Be curious.' });
    assert.equal(settings.templates.nextQuery, 'Next: {{followUp}}');
    assert.equal(settings.initialQuery, 'Why?');
    assert.equal(settings.cloudModel, 'amazon.nova-micro-v1:0');
    assert.deepEqual(settings.cloudFallbacks, ['amazon.nova-lite-v1:0']);
    assert.deepEqual(settings.budget, { tokens: 5000 });
    assert.equal(settings.maxTurns, 6);
    assert.equal(settings.outputFile, 'conversation-fork-id.csv', 'its own transcript file, not the parent’s');
    assert.equal(settings.run, undefined);
    const other = parseForkRequest({ atTurn: 1, cloudModel: 'amazon.nova-lite-v1:0' }, 'parent-id', parent, config, 'f2').settings;
    assert.equal(other.cloudModel, 'amazon.nova-lite-v1:0');
    assert.equal(other.cloudFallbacks, undefined);
  });

  it('refuses with 400 naming the field: atTurn missing, not an integer, past maxTurns; unknown keys; bad values', () => {
    const refused = (body: unknown, pattern: RegExp) =>
      assert.throws(
        () => parseForkRequest(body, 'parent-id', parent, config, 'f'),
        (e: unknown) => e instanceof ValidationError && e.status === 400 && pattern.test(e.message),
      );
    refused({}, /atTurn/);
    refused({ atTurn: 2.5 }, /atTurn/);
    refused({ atTurn: 0 }, /atTurn/);
    refused({ atTurn: 7 }, /atTurn: 7 is past the fork's maxTurns \(6\)/);
    refused({ atTurn: 3, maxTurns: 2 }, /atTurn: 3 is past the fork's maxTurns \(2\)/);
    refused({ atTurn: 2, initialQuery: 'x' }, /unknown field\(s\): initialQuery/);
    refused({ atTurn: 2, run: 'x' }, /unknown field\(s\): run/);
    refused({ atTurn: 2, temperature: 5 }, /temperature/);
    refused({ atTurn: 2, templates: { nextQuery: 'no placeholder' } }, /templates\.nextQuery/);
    refused([], /JSON object/);
  });

  it('complete turns count from turn 1 while both sides are recorded; own turns start at the branch point', () => {
    const t = (k: number, local = true): TurnRecord => ({
      turn: k,
      cloud: {
        question: 'q',
        answer: 'a',
        model: 'm',
        inputTokens: 1,
        outputTokens: 1,
        latencyMs: 1,
        stopReason: 'end_turn',
        startedAt: 0,
        at: 0,
      },
      ...(local
        ? { local: { prompt: 'p', followUp: 'f', model: 'l', inputTokens: 1, outputTokens: 1, latencyMs: 1, stopReason: 'stop', at: 0 } }
        : {}),
    });
    assert.equal(completeTurns([]), 0);
    assert.equal(completeTurns([t(1), t(2), t(3, false)]), 2);
    assert.equal(completeTurns([t(1), t(3)]), 1);
    assert.deepEqual(
      ownTurns({ fork: { parentId: 'p', atTurn: 3 } }, [t(1), t(2), t(3), t(4)]).map((x) => x.turn),
      [3, 4],
    );
    assert.equal(ownTurns({}, [t(1), t(2)]).length, 2);
  });
});
