import assert from 'node:assert/strict';
import { parseConversationRequest } from '../../../conversation/conversation-request';
import { branchId, branchSettings, branchTurn, completeTurns, ownTurns, parseForkRequest } from '../../../conversation/fork-rules';
import { decodeSettingsFields, encodeSettingsFields } from '../../../store/record-codec';
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

  it("the record keeps a fork's parent and branch point and a conversation's branches (store/record-codec.ts)", () => {
    const settings = { ...parent, fork: { parentId: 'p-1', atTurn: 4 }, branches: 3, branchAt: 2 };
    const { conv, steps } = encodeSettingsFields(settings, 'parent-id');
    assert.equal(conv.parent, 'p-1');
    assert.equal(conv.forkAt, '4');
    const back = decodeSettingsFields(conv, steps.q!, steps.x, 'parent-id', steps.m);
    assert.deepEqual(back.fork, { parentId: 'p-1', atTurn: 4 });
    assert.equal(back.branches, 3);
    assert.equal(back.branchAt, 2);
    const plain = encodeSettingsFields(parent, 'parent-id');
    assert.equal(plain.conv.parent, undefined);
    assert.equal(decodeSettingsFields(plain.conv, plain.steps.q!, plain.steps.x, 'parent-id').fork, undefined);
  });

  it('branches: deterministic UUID ids, the branch turn, the settings of a branch', () => {
    assert.equal(branchId('p', 0), branchId('p', 0));
    assert.notEqual(branchId('p', 0), branchId('p', 1));
    assert.match(branchId('p', 0), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const t = (k: number): TurnRecord => ({
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
      local: { prompt: 'p', followUp: 'f', model: 'l', inputTokens: 1, outputTokens: 1, latencyMs: 1, stopReason: 'stop', at: 0 },
    });
    const six = [1, 2, 3, 4, 5, 6].map(t);
    assert.equal(branchTurn(parent, six), undefined, 'no branches asked');
    assert.equal(branchTurn({ ...parent, branches: 2 }, six), 6, 'default: the last turn again');
    assert.equal(branchTurn({ ...parent, branches: 2, branchAt: 3 }, six), 3);
    assert.equal(branchTurn({ ...parent, branches: 2, branchAt: 5 }, six.slice(0, 2)), 3, 'never past what it completed + 1');
    assert.equal(branchTurn({ ...parent, branches: 2, fork: { parentId: 'x', atTurn: 2 } }, six), undefined, 'a fork never branches');
    const b = branchSettings('parent-id', { ...parent, branches: 2, run: { id: 'r', seedHash: 'h' } }, 'fork-id', 3);
    assert.deepEqual(b.fork, { parentId: 'parent-id', atTurn: 3, runId: 'r' }, "the parent's run, for its budget");
    assert.equal(b.branches, undefined);
    assert.equal(b.run, undefined);
    assert.equal(b.outputFile, 'conversation-fork-id.csv');
    assert.equal(b.temperature, 0.2);
    assert.throws(() => parseConversationRequest({ initialQuery: 'x', branchAt: 2 }, config, 'c'), /branchAt: needs "branches"/);
    assert.throws(() => parseConversationRequest({ initialQuery: 'x', branches: 17 }, config, 'c'), /branches/);
  });
});
