import assert from 'node:assert/strict';
import { normaliseSeedText, RUN_ID, runConversationId, seedHash } from '../../../runs/seed-identity';

describe('seed identity', () => {
  it('whitespace and Unicode composition do not make a seed new', () => {
    assert.equal(normaliseSeedText('  What\tis   e\u0301? \n'), 'What is \u00e9?');
    assert.equal(seedHash({ initialQuery: 'What  is X?' }), seedHash({ initialQuery: ' What is X? ' }));
  });

  it('settings, their key order aside, and the seed id are part of the identity; meta is not given to it', () => {
    const a = seedHash({ initialQuery: 'q', maxTurns: 2, templates: { followUp: 'a {{answer}}', nextQuery: 'b {{followUp}}' } });
    const b = seedHash({ templates: { nextQuery: 'b {{followUp}}', followUp: 'a {{answer}}' }, maxTurns: 2, initialQuery: 'q' });
    assert.equal(a, b);
    assert.notEqual(seedHash({ initialQuery: 'q', maxTurns: 2 }), seedHash({ initialQuery: 'q', maxTurns: 3 }));
    assert.notEqual(seedHash({ initialQuery: 'q' }, 's1'), seedHash({ initialQuery: 'q' }, 's2'));
    assert.match(a, /^[0-9a-f]{32}$/);
  });

  it('the conversation id is UUID-shaped, per run, and never holds ":" or only digits', () => {
    const h = seedHash({ initialQuery: 'q' });
    const id = runConversationId('run-1', h);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(runConversationId('run-1', h), id);
    assert.notEqual(runConversationId('run-2', h), id);
  });

  it('run ids are short, URL- and key-safe and not all digits', () => {
    for (const ok of ['a', 'run-1', 'R_2', 'x'.repeat(64)]) assert.ok(RUN_ID.test(ok), ok);
    for (const bad of ['', '123', 'a:b', 'a b', 'x'.repeat(65), '../x']) assert.ok(!RUN_ID.test(bad), bad);
  });
});
