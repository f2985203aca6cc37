import assert from 'node:assert/strict';
import type { ConversationSettings, TurnRecord } from '../../../conversation/model';
import { DEFAULT_TEMPLATES } from '../../../conversation/templates';
import type { ExportItem } from '../../../export/conversation-lines';
import { exportPreferencePairs } from '../../../export/export-stream';
import { parseExportQuery } from '../../../export/export-options';
import { branchScore, preferenceLines } from '../../../export/preference-pairs';

const T0 = Date.UTC(2026, 0, 2);

/** Turns 1..n; `tag` marks the turns from `from` on as this branch's own answers. */
function turns(n: number, tag = '', from = 1): TurnRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const k = i + 1;
    const own = k >= from ? tag : '';
    return {
      turn: k,
      cloud: {
        question: k === 1 ? 'Q1' : `Q${k}${k > from ? own : ''}`,
        answer: `A${k}${own}`,
        model: 'm',
        inputTokens: 1,
        outputTokens: 1,
        latencyMs: 1,
        stopReason: 'end_turn',
        startedAt: T0,
        at: T0,
      },
      local: {
        prompt: `P${k}`,
        followUp: `F${k}${own}`,
        model: 'l',
        inputTokens: 1,
        outputTokens: 1,
        latencyMs: 1,
        stopReason: 'stop',
        at: T0,
      },
    };
  });
}

function item(id: string, t: TurnRecord[], score?: Record<string, number>, extra: Partial<ConversationSettings> = {}): ExportItem {
  return {
    record: {
      id,
      status: 'completed',
      stopReason: 'max_turns',
      createdAt: T0,
      updatedAt: T0,
      deadline: T0 + 60_000,
      format: 2,
      settings: {
        initialQuery: 'Q1',
        outputFile: `${id}.csv`,
        maxTurns: t.length,
        timeoutMinutes: 5,
        cloudModel: 'm',
        localModel: 'l',
        contextTurns: 3,
        templates: DEFAULT_TEMPLATES,
        systemPrompts: {},
        ...extra,
      },
    },
    turns: t,
    judge: score ? { status: 'scored', scores: score, model: 'j', attempts: 1, at: T0 } : null,
  };
}

const all = { assistant: 'cloud' as const, keep: () => true };

describe('preference pairs (format=dpo)', () => {
  it('a parent and its forks at turn 3: one TRL conversational line, the best scored answer chosen, the worst rejected, with provenance', () => {
    const parent = item('p', turns(4), { helpfulness: 3, coherence: 3 });
    const good = item(
      'f1',
      turns(4, '-good', 3),
      { helpfulness: 5, coherence: 4 },
      { temperature: 0.9, fork: { parentId: 'p', atTurn: 3 } },
    );
    const bad = item('f2', turns(4, '-bad', 3), { helpfulness: 1, coherence: 2 }, { fork: { parentId: 'p', atTurn: 3 } });
    const { lines, unpaired } = preferenceLines(
      parent,
      [
        { item: good, atTurn: 3 },
        { item: bad, atTurn: 3 },
      ],
      all,
    );
    assert.equal(unpaired, 0);
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(line), ['prompt', 'chosen', 'rejected', 'metadata']);
    assert.deepEqual(line.prompt, [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'A2' },
      { role: 'user', content: 'Q3' },
    ]);
    assert.deepEqual(line.chosen, [{ role: 'assistant', content: 'A3-good' }]);
    assert.deepEqual(line.rejected, [{ role: 'assistant', content: 'A3-bad' }]);
    assert.equal(line.metadata.parentId, 'p');
    assert.equal(line.metadata.atTurn, 3);
    assert.equal(line.metadata.candidates, 3);
    assert.equal(line.metadata.chosen.conversationId, 'f1');
    assert.equal(line.metadata.chosen.score, 4.5);
    assert.equal(line.metadata.chosen.temperature, 0.9);
    assert.equal(line.metadata.rejected.conversationId, 'f2');
    assert.equal(line.metadata.rankedBy, 'mean of the judge scores');
  });

  it('ranks by one criterion when asked; a tie, an unscored branch, a filtered one or a lone branch makes no pair', () => {
    const parent = item('p', turns(3), { helpfulness: 2, coherence: 5 });
    const fork = item('f', turns(3, '-x', 2), { helpfulness: 4, coherence: 1 }, { fork: { parentId: 'p', atTurn: 2 } });
    const byHelp = preferenceLines(parent, [{ item: fork, atTurn: 2 }], { ...all, criterion: 'helpfulness' });
    assert.equal(JSON.parse(byHelp.lines[0]!).metadata.chosen.conversationId, 'f');
    const byCoherence = preferenceLines(parent, [{ item: fork, atTurn: 2 }], { ...all, criterion: 'coherence' });
    assert.equal(JSON.parse(byCoherence.lines[0]!).metadata.chosen.conversationId, 'p');
    const tie = item('t', turns(3, '-t', 2), { helpfulness: 2, coherence: 5 });
    assert.deepEqual(preferenceLines(parent, [{ item: tie, atTurn: 2 }], all), { lines: [], unpaired: 1 });
    const unscored = item('u', turns(3, '-u', 2));
    assert.deepEqual(preferenceLines(parent, [{ item: unscored, atTurn: 2 }], all), { lines: [], unpaired: 1 });
    const filtered = preferenceLines(parent, [{ item: fork, atTurn: 2 }], { ...all, keep: (i) => i.record.id !== 'f' });
    assert.deepEqual(filtered, { lines: [], unpaired: 1 });
    // A fork whose history differs before its turn (another template) is not a sibling of that prompt.
    const other = item('o', turns(3, '-o', 1), { helpfulness: 5, coherence: 5 });
    assert.deepEqual(preferenceLines(parent, [{ item: other, atTurn: 2 }], all), { lines: [], unpaired: 1 });
    assert.equal(branchScore(null), undefined);
    assert.equal(branchScore({ status: 'scored', scores: { a: 1, b: 4 }, model: 'j', attempts: 1, at: 0 }), 2.5);
  });

  it('keeps the system message only when both branches had it; their own are in the metadata', () => {
    const parent = item('p', turns(2), { h: 1 }, { systemPrompts: { cloud: 'Be brief.' } });
    const same = item('s', turns(2, '-s', 2), { h: 5 }, { systemPrompts: { cloud: 'Be brief.' } });
    const pirate = item('x', turns(2, '-x', 2), { h: 5 }, { systemPrompts: { cloud: 'Be a pirate.' } });
    const kept = JSON.parse(preferenceLines(parent, [{ item: same, atTurn: 2 }], all).lines[0]!);
    assert.deepEqual(kept.prompt[0], { role: 'system', content: 'Be brief.' });
    const dropped = JSON.parse(preferenceLines(parent, [{ item: pirate, atTurn: 2 }], all).lines[0]!);
    assert.equal(dropped.prompt[0].role, 'user');
    assert.equal(dropped.metadata.chosen.systemPrompts.cloud, 'Be a pirate.');
  });

  it('the stream: each family once, a fork the source names too only as a parent, missing forks counted', async () => {
    const p = item('p', turns(3), { h: 1 });
    const f1 = item('f1', turns(3, '-1', 2), { h: 3 }, { fork: { parentId: 'p', atTurn: 2 } });
    // f2 shares f1's turns 1-2 and its turn-3 question, and answers turn 3 its own way.
    const t3 = f1.turns[2]!;
    const f2 = item(
      'f2',
      [...f1.turns.slice(0, 2), { ...t3, cloud: { ...t3.cloud!, answer: 'A3-2' } }],
      { h: 4 },
      { fork: { parentId: 'f1', atTurn: 3 } },
    );
    const items = new Map([p, f1, f2].map((i) => [i.record.id, i]));
    const forks: Record<string, { id: string; atTurn: number }[]> = {
      p: [
        { id: 'f1', atTurn: 2 },
        { id: 'gone', atTurn: 2 },
      ],
      f1: [{ id: 'f2', atTurn: 3 }],
    };
    const stats = { seen: 0, exported: 0, filtered: 0, empty: 0, missing: 0, maxHeld: 0 };
    const opts = parseExportQuery({ format: 'dpo' }, { escapeFormulas: false });
    const out: string[] = [];
    for await (const l of exportPreferencePairs(
      ['p', 'f1', 'f2'],
      async (ids) => ids.map((id) => items.get(id) ?? null),
      async (id) => forks[id] ?? [],
      opts,
      stats,
      1,
    ))
      out.push(l);
    const lines = out.map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.metadata.parentId, l.metadata.atTurn, l.metadata.chosen.conversationId, l.metadata.rejected.conversationId]),
      [
        ['p', 2, 'f1', 'p'],
        ['f1', 3, 'f2', 'f1'],
      ],
    );
    assert.equal(stats.exported, 2);
    assert.equal(stats.missing, 1);
    assert.equal(stats.seen, 3);
  });

  it('the query: format=dpo, score=<criterion> for dpo only, a bad criterion named', () => {
    assert.equal(parseExportQuery({ format: 'dpo', score: 'helpfulness' }, { escapeFormulas: false }).rankBy, 'helpfulness');
    assert.throws(() => parseExportQuery({ format: 'openai', score: 'helpfulness' }, { escapeFormulas: false }), /format=dpo only/);
    assert.throws(() => parseExportQuery({ format: 'dpo', score: 'a b' }, { escapeFormulas: false }), /score must name one criterion/);
  });

  it('pairs=all: every pair of answers to one prompt whose scores differ by minMargin or more, the higher chosen', () => {
    const parent = item('p', turns(3), { h: 3 });
    const fork = (id: string, h: number) => item(id, turns(3, `-${id}`, 2), { h }, { fork: { parentId: 'p', atTurn: 2 } });
    const forks = [fork('a', 5), fork('b', 1), fork('c', 3.5)].map((f) => ({ item: f, atTurn: 2 }));
    const pairsOf = (out: { lines: string[] }) =>
      out.lines.map((l) => {
        const m = JSON.parse(l).metadata;
        return [m.chosen.conversationId, m.rejected.conversationId, m.margin];
      });
    // Scores p 3, a 5, b 1, c 3.5: six pairs, each higher one chosen, in rank order.
    assert.deepEqual(pairsOf(preferenceLines(parent, forks, { ...all, choice: { pairs: 'all', minMargin: 0 } })), [
      ['a', 'c', 1.5],
      ['a', 'p', 2],
      ['a', 'b', 4],
      ['c', 'p', 0.5],
      ['c', 'b', 2.5],
      ['p', 'b', 2],
    ]);
    // A margin of 2 keeps the pairs the judge told apart by 2 or more.
    assert.deepEqual(pairsOf(preferenceLines(parent, forks, { ...all, choice: { pairs: 'all', minMargin: 2 } })), [
      ['a', 'p', 2],
      ['a', 'b', 4],
      ['c', 'b', 2.5],
      ['p', 'b', 2],
    ]);
    // best (the default) with a margin: one pair, or none when best and worst are closer than it.
    assert.deepEqual(pairsOf(preferenceLines(parent, forks, { ...all, choice: { pairs: 'best', minMargin: 4 } })), [['a', 'b', 4]]);
    assert.deepEqual(preferenceLines(parent, forks, { ...all, choice: { pairs: 'best', minMargin: 4.5 } }), { lines: [], unpaired: 1 });
    assert.deepEqual(pairsOf(preferenceLines(parent, forks, all)), [['a', 'b', 4]]);
    // A tie is never a pair, even with minMargin=0.
    const ties = [fork('x', 3), fork('y', 3)].map((f) => ({ item: f, atTurn: 2 }));
    assert.deepEqual(preferenceLines(parent, ties, { ...all, choice: { pairs: 'all', minMargin: 0 } }), { lines: [], unpaired: 1 });
  });

  it('the query: pairs=best|all and minMargin for dpo only, defaults best and 0, bad values named', () => {
    const q = (query: Record<string, string>) => parseExportQuery(query, { escapeFormulas: false });
    assert.equal(q({ format: 'dpo' }).pairChoice, undefined);
    assert.deepEqual(q({ format: 'dpo', pairs: 'all' }).pairChoice, { pairs: 'all', minMargin: 0 });
    assert.deepEqual(q({ format: 'dpo', minMargin: '1.5' }).pairChoice, { pairs: 'best', minMargin: 1.5 });
    assert.throws(() => q({ format: 'dpo', pairs: 'some' }), /pairs must be best .* or all/);
    assert.throws(() => q({ format: 'dpo', minMargin: '-1' }), /minMargin must be a number >= 0/);
    assert.throws(() => q({ format: 'dpo', minMargin: 'x' }), /minMargin must be a number >= 0/);
    assert.throws(() => q({ format: 'openai', pairs: 'all' }), /pairs chooses the preference pairs of format=dpo only/);
  });
});
